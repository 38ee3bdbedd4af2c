//! Payload codecs end to end on the embedded engine over redb: a client and its worker with
//! an encrypting codec run the golden workflow (arguments, signal, query, update, child,
//! side effects, versions, local activity, bytes, memo); the engine stores only encoded
//! payloads — a client without the codec reads ciphertext everywhere — while the codec's
//! client reads every value back as it was written, and its history replays.

use endure::*;

use crate::golden::{assert_temporal_encoding, golden, golden_child, golden_options, run_golden};
use crate::store_client;

/// A toy cipher with Temporal's encryption-codec layout: the ciphertext's encoding is
/// `binary/encrypted`, the original encoding travels in `encoding-original`. (XOR stands in
/// for AES-GCM; the layout and the pass-through rule are what a real codec shares.)
pub(crate) struct Xor(pub(crate) u8);

const ENCRYPTED: &str = "binary/encrypted";

impl PayloadCodec for Xor {
    fn encode(&self, payloads: Vec<Payload>) -> Result<Vec<Payload>, CodecError> {
        Ok(payloads
            .into_iter()
            .map(|payload| {
                let mut encrypted = Payload::with_encoding(
                    ENCRYPTED,
                    payload.data.iter().map(|byte| byte ^ self.0).collect(),
                );
                let original = payload.encoding().unwrap_or_default().as_bytes().to_vec();
                encrypted
                    .metadata
                    .insert("encoding-original".into(), original);
                encrypted
            })
            .collect())
    }

    fn decode(&self, payloads: Vec<Payload>) -> Result<Vec<Payload>, CodecError> {
        payloads
            .into_iter()
            .map(|payload| {
                if payload.encoding() != Some(ENCRYPTED) {
                    return Ok(payload); // not ours: pass it through
                }
                let original = payload
                    .metadata
                    .get("encoding-original")
                    .ok_or_else(|| CodecError("no encoding-original".into()))?;
                let original = String::from_utf8(original.clone())
                    .map_err(|error| CodecError(error.to_string()))?;
                Ok(Payload::with_encoding(
                    &original,
                    payload.data.iter().map(|byte| byte ^ self.0).collect(),
                ))
            })
            .collect()
    }
}

/// The encodings of every payload `events` hold.
fn encodings(events: &[HistoryEvent]) -> Vec<String> {
    let mut events = events.to_vec();
    let mut seen = Vec::new();
    events
        .visit_payloads(&mut |payloads| {
            seen.extend(
                payloads
                    .iter()
                    .map(|payload| payload.encoding().unwrap_or_default().to_owned()),
            );
            Ok(())
        })
        .unwrap();
    seen
}

#[tokio::test]
async fn the_engine_holds_only_encoded_payloads_and_the_codecs_client_reads_them_back() {
    let (plain, _store) = store_client().await;
    let encrypted = plain.clone().with_codec(Xor(0x5a));
    let mut options = golden_options();
    options.memo = Memo::new().with("customer", Payload::encode("ada").unwrap());
    let (parent, child) = run_golden(&encrypted, options).await;

    // Through the codec: every value as it was written, Temporal's layout, and a replay.
    assert_temporal_encoding(&parent);
    Replayer::for_workflow::<golden>()
        .replay_history(&parent)
        .unwrap();
    Replayer::for_workflow::<golden_child>()
        .replay_history(&child)
        .unwrap();
    let handle = encrypted.handle(WorkflowId::new("golden").unwrap(), None);
    let description = handle.describe().await.unwrap();
    assert_eq!(
        description
            .memo
            .get("customer")
            .unwrap()
            .decode::<String>()
            .unwrap(),
        "ada"
    );
    let (text, bytes): (String, Vec<u8>) = handle.result().await.unwrap();
    assert!(text.starts_with("hello ada"), "{text}");
    assert_eq!(bytes, [0, 1, 2]);

    // Without it: ciphertext in every payload the engine stored, the memo included.
    let stored = plain
        .handle(WorkflowId::new("golden").unwrap(), None)
        .history()
        .await
        .unwrap();
    let stored_child = plain
        .handle(WorkflowId::new("golden-child").unwrap(), None)
        .history()
        .await
        .unwrap();
    for (stored, decoded) in [(&stored, &parent), (&stored_child, &child)] {
        let seen = encodings(stored);
        assert!(
            seen.iter().all(|encoding| encoding == ENCRYPTED),
            "{seen:?}"
        );
        assert_eq!(seen.len(), encodings(decoded).len(), "the same payloads");
    }
    let raw = plain
        .handle(WorkflowId::new("golden").unwrap(), None)
        .describe()
        .await
        .unwrap();
    assert_eq!(
        raw.memo.get("customer").unwrap().encoding(),
        Some(ENCRYPTED)
    );
    let result = plain
        .handle(WorkflowId::new("golden").unwrap(), None)
        .result_raw()
        .await
        .unwrap()
        .unwrap();
    assert_eq!(result.as_slice()[0].encoding(), Some(ENCRYPTED));
    let error = plain
        .handle(WorkflowId::new("golden").unwrap(), None)
        .result::<(String, Vec<u8>)>()
        .await
        .unwrap_err();
    assert!(
        matches!(&error, ClientError::Payload(PayloadError::Encoding(e)) if e == ENCRYPTED),
        "{error}"
    );
}

#[tokio::test]
async fn a_codec_that_fails_to_encode_sends_nothing_and_says_why() {
    struct Refusing;
    impl PayloadCodec for Refusing {
        fn encode(&self, _: Vec<Payload>) -> Result<Vec<Payload>, CodecError> {
            Err(CodecError("the key service is down".into()))
        }
        fn decode(&self, payloads: Vec<Payload>) -> Result<Vec<Payload>, CodecError> {
            Ok(payloads)
        }
    }
    let (plain, _store) = store_client().await;
    let refusing = plain.clone().with_codec(Refusing);
    let error = refusing
        .start_workflow(golden_options(), "Golden", &("ada", 3))
        .await
        .unwrap_err();
    let ClientError::Remote(remote) = &error else {
        panic!("{error}");
    };
    assert_eq!(remote.kind, ErrorKind::InvalidArgument);
    assert!(
        remote
            .message
            .contains("StartWorkflow: the request was not sent")
            && remote.message.contains("the key service is down"),
        "{remote}"
    );
    let missing = plain
        .handle(WorkflowId::new("golden").unwrap(), None)
        .describe()
        .await
        .unwrap_err();
    assert!(
        matches!(&missing, ClientError::Remote(e) if e.kind == ErrorKind::NotFound),
        "{missing}"
    );
}
