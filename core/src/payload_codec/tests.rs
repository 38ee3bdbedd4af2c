//! Every payload of every message reaches the codec: checked by tagging what the codec
//! sees and then looking for untagged payloads in the message's serialised form, over
//! random events and commands; and encode-then-decode gives back the message.

use std::sync::Arc;

use proptest::prelude::*;
use serde_json::Value;

use super::{CodecChain, CodecError, PayloadCodec, VisitPayloads};
use crate::command::Command;
use crate::history::HistoryEvent;
use crate::payload::{Payload, Payloads};

/// Marks every payload it encodes and reverses its bytes; decoding undoes only its own.
struct Tagging;

const TAG: &str = "tagged";

impl PayloadCodec for Tagging {
    fn encode(&self, payloads: Vec<Payload>) -> Result<Vec<Payload>, CodecError> {
        Ok(payloads
            .into_iter()
            .map(|mut payload| {
                payload.data.reverse();
                payload.metadata.insert(TAG.into(), b"1".to_vec());
                payload
            })
            .collect())
    }

    fn decode(&self, payloads: Vec<Payload>) -> Result<Vec<Payload>, CodecError> {
        Ok(payloads
            .into_iter()
            .map(|mut payload| {
                if payload.metadata.remove(TAG).is_some() {
                    payload.data.reverse();
                }
                payload
            })
            .collect())
    }
}

/// Drops a payload: a broken codec.
struct Dropping;

impl PayloadCodec for Dropping {
    fn encode(&self, mut payloads: Vec<Payload>) -> Result<Vec<Payload>, CodecError> {
        payloads.pop();
        Ok(payloads)
    }

    fn decode(&self, payloads: Vec<Payload>) -> Result<Vec<Payload>, CodecError> {
        Ok(payloads)
    }
}

fn chain() -> CodecChain {
    CodecChain::new(vec![Arc::new(Tagging)])
}

/// Payloads in a serialised message: objects with exactly `metadata` and `data`.
fn payloads_in(value: &Value, found: &mut Vec<Value>) {
    match value {
        Value::Object(fields) => {
            if fields.len() == 2 && fields.contains_key("metadata") && fields.contains_key("data") {
                found.push(value.clone());
                return;
            }
            fields.values().for_each(|field| payloads_in(field, found));
        }
        Value::Array(items) => items.iter().for_each(|item| payloads_in(item, found)),
        _ => {}
    }
}

fn untagged<M: serde::Serialize>(message: &M) -> Vec<Value> {
    let mut found = Vec::new();
    payloads_in(&serde_json::to_value(message).unwrap(), &mut found);
    found.retain(|payload| payload["metadata"].get(TAG).is_none());
    found
}

fn check_round_trip<M>(original: &M) -> Result<(), TestCaseError>
where
    M: VisitPayloads + serde::Serialize + Clone + PartialEq + std::fmt::Debug,
{
    let mut message = original.clone();
    chain().encode_all(&mut message).unwrap();
    let missed = untagged(&message);
    prop_assert!(
        missed.is_empty(),
        "payloads the codec did not see: {missed:?}"
    );
    chain().decode_all(&mut message).unwrap();
    prop_assert_eq!(&message, original);
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn every_payload_of_an_event_is_encoded_and_decoded(event in any::<HistoryEvent>()) {
        check_round_trip(&event)?;
    }

    #[test]
    fn every_payload_of_a_command_is_encoded_and_decoded(command in any::<Command>()) {
        check_round_trip(&command)?;
    }
}

#[test]
fn a_codec_must_answer_a_payload_per_payload() {
    let broken = CodecChain::new(vec![Arc::new(Dropping)]);
    let mut payloads = Payloads(vec![Payload::null(), Payload::null()]);
    let error = broken.encode_all(&mut payloads).unwrap_err();
    assert!(error.0.contains("returned 1 payloads for 2"), "{error}");
}

#[test]
fn chains_encode_in_order_and_decode_in_reverse() {
    /// Appends its byte on encode; strips it on decode if it is last.
    struct Append(u8);
    impl PayloadCodec for Append {
        fn encode(&self, payloads: Vec<Payload>) -> Result<Vec<Payload>, CodecError> {
            Ok(payloads
                .into_iter()
                .map(|mut p| {
                    p.data.push(self.0);
                    p
                })
                .collect())
        }
        fn decode(&self, payloads: Vec<Payload>) -> Result<Vec<Payload>, CodecError> {
            payloads
                .into_iter()
                .map(|mut p| match p.data.pop() {
                    Some(byte) if byte == self.0 => Ok(p),
                    _ => Err(CodecError(format!("not encoded by {}", self.0))),
                })
                .collect()
        }
    }
    let chain = CodecChain::new(vec![Arc::new(Append(1)), Arc::new(Append(2))]);
    let mut payloads = Payloads::one(Payload::binary(vec![0]));
    chain.encode_all(&mut payloads).unwrap();
    assert_eq!(payloads.0[0].data, [0, 1, 2]);
    chain.decode_all(&mut payloads).unwrap();
    assert_eq!(payloads.0[0].data, [0]);
}
