//! Updates as Temporal's protocol messages (`temporal.api.protocol.v1.Message` holding an
//! `update.v1` Request, Acceptance, Rejection or Response), both ways.

use endure_core::{UpdateDelivery, UpdateMessage, UpdateMessageBody, UpdateOutcome, UpdateRequest};
use prost::{Message, Name};

use super::BadField;
use super::common::{event_id, header, payloads, payloads_in};
use super::failure::{failure, failure_in};
use crate::proto::{common as pbc, protocol as pb, update as pbu};

/// An update's request as Temporal's.
pub(crate) fn update_request(request: UpdateRequest) -> pbu::Request {
    pbu::Request {
        meta: Some(pbu::Meta {
            update_id: request.update_id.into(),
            identity: request.identity,
        }),
        input: Some(pbu::Input {
            header: header(request.header),
            name: request.name.into(),
            args: payloads(request.args),
        }),
        ..pbu::Request::default()
    }
}

/// An update's outcome as Temporal's.
pub(crate) fn update_outcome(outcome: UpdateOutcome) -> pbu::Outcome {
    pbu::Outcome {
        value: Some(match outcome {
            UpdateOutcome::Success(result) => pbu::outcome::Value::Success(pbc::Payloads {
                payloads: result.0.into_iter().map(super::common::payload).collect(),
            }),
            UpdateOutcome::Failure(f) => pbu::outcome::Value::Failure(failure(f)),
        }),
    }
}

fn any<M: Message + Name>(message: &M) -> prost_types::Any {
    prost_types::Any {
        type_url: format!("type.googleapis.com/{}", M::full_name()),
        value: message.encode_to_vec(),
    }
}

/// An update delivered with a workflow task, as the request message SDKs read.
pub(crate) fn delivery(delivery: UpdateDelivery) -> pb::Message {
    let request = update_request(delivery.request);
    pb::Message {
        id: delivery.message_id,
        protocol_instance_id: request
            .meta
            .as_ref()
            .map(|meta| meta.update_id.clone())
            .unwrap_or_default(),
        body: Some(any(&request)),
        sequencing_id: Some(pb::message::SequencingId::EventId(event_id(
            delivery.sequencing_event_id,
        ))),
    }
}

/// A worker's answer to an update, from its protocol message.
pub(crate) fn answer_in(message: pb::Message) -> Result<UpdateMessage, BadField> {
    let body = message
        .body
        .ok_or_else(|| BadField::new("messages", "a protocol message without a body"))?;
    let kind = body.type_url.rsplit('/').next().unwrap_or_default();
    let decode_error =
        |error: prost::DecodeError| BadField::new("messages", format!("{kind}: {error}"));
    let body = if kind == pbu::Acceptance::full_name() {
        UpdateMessageBody::Acceptance
    } else if kind == pbu::Rejection::full_name() {
        let rejection = pbu::Rejection::decode(&body.value[..]).map_err(decode_error)?;
        UpdateMessageBody::Rejection(failure_in(
            rejection
                .failure
                .ok_or_else(|| BadField::new("messages", "a rejection without its failure"))?,
        )?)
    } else if kind == pbu::Response::full_name() {
        let response = pbu::Response::decode(&body.value[..]).map_err(decode_error)?;
        let value = response
            .outcome
            .and_then(|outcome| outcome.value)
            .ok_or_else(|| BadField::new("messages", "a response without its outcome"))?;
        UpdateMessageBody::Response(match value {
            pbu::outcome::Value::Success(result) => {
                UpdateOutcome::Success(payloads_in(Some(result)))
            }
            pbu::outcome::Value::Failure(failure) => UpdateOutcome::Failure(failure_in(failure)?),
        })
    } else {
        return Err(BadField::new(
            "messages",
            format!("{kind:?} is not an update message Endure knows"),
        ));
    };
    Ok(UpdateMessage {
        id: message.id,
        update_id: super::common::id_in("protocol_instance_id", message.protocol_instance_id)?,
        body,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::common as pbc;

    #[test]
    fn a_response_message_becomes_the_updates_outcome() {
        let response = pbu::Response {
            meta: None,
            outcome: Some(pbu::Outcome {
                value: Some(pbu::outcome::Value::Success(pbc::Payloads::default())),
            }),
        };
        let message = pb::Message {
            id: "u1/response".into(),
            protocol_instance_id: "u1".into(),
            body: Some(any(&response)),
            sequencing_id: None,
        };
        let answer = answer_in(message).unwrap();
        assert_eq!(answer.update_id.as_str(), "u1");
        assert_eq!(
            answer.body,
            UpdateMessageBody::Response(UpdateOutcome::Success(endure_core::Payloads::empty()))
        );
        let acceptance = pb::Message {
            id: "u1/accept".into(),
            protocol_instance_id: "u1".into(),
            body: Some(any(&pbu::Acceptance::default())),
            sequencing_id: None,
        };
        assert_eq!(
            answer_in(acceptance).unwrap().body,
            UpdateMessageBody::Acceptance
        );
        let unknown = pb::Message {
            body: Some(any(&pbc::Payloads::default())),
            ..pb::Message::default()
        };
        assert!(answer_in(unknown).is_err());
    }
}
