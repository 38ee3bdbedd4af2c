//! Bodies of the cargo-fuzz targets in `fuzz/`, kept here so `cargo test` replays the
//! committed corpus through the same code the fuzzer runs.

mod machines;

pub use machines::{execution_machine, replay_machine};

use crate::codec::{Record, decode, encode};
use crate::{
    ActivityOptions, Command, Failure, History, HistoryEvent, Payloads, StartWorkflowOptions,
};

/// Decodes `bytes` as every record kind. Whatever decodes must encode again, and that
/// encoding must be a fixed point (decode then encode gives the same bytes); nothing may
/// panic.
pub fn decode_records(bytes: &[u8]) {
    check_canonical::<HistoryEvent>(bytes);
    check_canonical::<History>(bytes);
    check_canonical::<Command>(bytes);
    check_canonical::<ActivityOptions>(bytes);
    check_canonical::<StartWorkflowOptions>(bytes);
    check_canonical::<Failure>(bytes);
    check_canonical::<Payloads>(bytes);
    check_canonical::<crate::storage::ExecutionRow>(bytes);
    check_canonical::<crate::storage::CurrentRun>(bytes);
    check_canonical::<crate::storage::DispatchRow>(bytes);
    check_canonical::<crate::storage::RequestRecord>(bytes);
    check_canonical::<crate::storage::VisibilityRow>(bytes);
    check_canonical::<crate::execution::ExecutionMachine>(bytes);
    check_canonical::<crate::namespace::NamespaceRecord>(bytes);
}

/// Feeds `bytes` to the TCP frame decoder in chunks of every size the first byte picks:
/// frames either come out or the decoder reports an error, never a panic; every frame that
/// decodes as a client or server message encodes to a frame that decodes to the same
/// message.
pub fn decode_frames(bytes: &[u8]) {
    use crate::wire::{ClientFrame, FrameDecoder, ServerFrame, decode_frame, encode_frame};
    let Some((&chunk, stream)) = bytes.split_first() else {
        return;
    };
    let chunk = usize::from(chunk).max(1);
    let mut decoder = FrameDecoder::new(64 * 1024);
    for piece in stream.chunks(chunk) {
        decoder.extend(piece);
        loop {
            match decoder.next_frame() {
                Ok(Some(body)) => {
                    if let Ok(frame) = decode_frame::<ClientFrame>(&body) {
                        let encoded =
                            encode_frame(&frame, u32::MAX).expect("a decoded frame encodes");
                        let again: ClientFrame = decode_frame(&encoded[4..]).expect("and decodes");
                        assert_eq!(again, frame);
                    }
                    if let Ok(frame) = decode_frame::<ServerFrame>(&body) {
                        let encoded =
                            encode_frame(&frame, u32::MAX).expect("a decoded frame encodes");
                        let again: ServerFrame = decode_frame(&encoded[4..]).expect("and decodes");
                        assert_eq!(again, frame);
                    }
                }
                Ok(None) => break,
                Err(_) => return,
            }
        }
    }
    let _ = decoder.finish();
}

fn check_canonical<T: Record + std::fmt::Debug>(bytes: &[u8]) {
    let Ok(value) = decode::<T>(bytes) else {
        return;
    };
    let encoded = match encode(&value) {
        Ok(encoded) => encoded,
        Err(error) => panic!("decoded {value:?} but cannot encode it again: {error}"),
    };
    let again = match decode::<T>(&encoded) {
        Ok(again) => again,
        Err(error) => panic!("re-encoded {value:?} does not decode: {error}"),
    };
    match encode(&again) {
        Ok(fixed_point) => assert_eq!(
            fixed_point, encoded,
            "encode(decode(b)) is not a fixed point"
        ),
        Err(error) => panic!("{again:?} does not encode: {error}"),
    }
}
