//! Bodies of the cargo-fuzz targets in `fuzz/`, kept here so `cargo test` replays the
//! committed corpus through the same code the fuzzer runs.

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
