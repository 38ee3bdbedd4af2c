//! Payload codecs: byte-level transformations of every payload on its way to the engine and
//! back (Temporal's `PayloadCodec`) — encryption, compression, offloading large values. The
//! engine stores and forwards encoded payloads and never sees the plain ones.
//!
//! A codec runs at the edge, in the client and the worker (the SDK wraps their transport),
//! on every payload a request carries and every payload a response brings: arguments,
//! results, signal, query and update values, memos, headers, failure details, heartbeat
//! details, marker details. Search attributes are not payloads here (the engine indexes
//! them) and are never encoded.
//!
//! [`VisitPayloads`] is how the codec reaches them: each message type hands every group of
//! payloads it holds to a visitor.

mod commands;
mod history;
mod protocol;
#[cfg(test)]
mod tests;

use std::sync::Arc;

use crate::failure::{Failure, FailureInfo};
use crate::payload::{Payload, PayloadMap, Payloads};

/// Why a codec could not encode or decode.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("payload codec: {0}")]
pub struct CodecError(pub String);

/// A transformation of payloads (Go's `converter.PayloadCodec`). `encode` runs on the way
/// to the engine, `decode` on the way back; `decode(encode(p)) == p` must hold.
///
/// Two rules make a codec safe to deploy: `decode` passes through, untouched, any payload it
/// did not encode (recognise yours by a metadata value such as your own `encoding`), so
/// histories written before the codec was added, and payloads another process wrote, still
/// read; and both return as many payloads as they were given, in order.
#[doc(alias = "DataConverter")]
pub trait PayloadCodec: Send + Sync + 'static {
    /// Encodes `payloads` (arguments, a result, details…) for the engine.
    fn encode(&self, payloads: Vec<Payload>) -> Result<Vec<Payload>, CodecError>;
    /// Decodes `payloads` that came from the engine.
    fn decode(&self, payloads: Vec<Payload>) -> Result<Vec<Payload>, CodecError>;
}

/// Codecs applied in a chain (Go's `NewCodecDataConverter`): `encode` runs them in the
/// order given, `decode` in reverse, so `[compress, encrypt]` compresses and then
/// encrypts.
#[derive(Clone, Default)]
#[doc(alias = "DataConverter")]
pub struct CodecChain {
    codecs: Vec<Arc<dyn PayloadCodec>>,
}

impl std::fmt::Debug for CodecChain {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "CodecChain({} codecs)", self.codecs.len())
    }
}

impl CodecChain {
    /// A chain of `codecs`, first applied first when encoding.
    pub fn new(codecs: Vec<Arc<dyn PayloadCodec>>) -> Self {
        Self { codecs }
    }

    /// Whether the chain does nothing.
    pub fn is_empty(&self) -> bool {
        self.codecs.is_empty()
    }

    /// Encodes every payload `message` holds.
    pub fn encode_all<M: VisitPayloads + ?Sized>(&self, message: &mut M) -> Result<(), CodecError> {
        if self.is_empty() {
            return Ok(());
        }
        message.visit_payloads(&mut |payloads| {
            for codec in &self.codecs {
                *payloads = checked(payloads.len(), codec.encode(std::mem::take(payloads))?)?;
            }
            Ok(())
        })
    }

    /// Decodes every payload `message` holds.
    pub fn decode_all<M: VisitPayloads + ?Sized>(&self, message: &mut M) -> Result<(), CodecError> {
        if self.is_empty() {
            return Ok(());
        }
        message.visit_payloads(&mut |payloads| {
            for codec in self.codecs.iter().rev() {
                *payloads = checked(payloads.len(), codec.decode(std::mem::take(payloads))?)?;
            }
            Ok(())
        })
    }
}

/// Refuses a codec's answer of another length than it was given.
fn checked(given: usize, answer: Vec<Payload>) -> Result<Vec<Payload>, CodecError> {
    if answer.len() != given {
        return Err(CodecError(format!(
            "a codec returned {} payloads for {given}; it must return one per payload",
            answer.len()
        )));
    }
    Ok(answer)
}

/// The visitor a message hands its payloads to, a group at a time (a group is one field:
/// the arguments of a call, a memo entry, a failure's details).
pub type PayloadVisitor<'a> = dyn FnMut(&mut Vec<Payload>) -> Result<(), CodecError> + 'a;

/// A message that holds payloads, which it hands to a visitor one field at a time.
pub trait VisitPayloads {
    /// Calls `visit` on every group of payloads this value holds.
    fn visit_payloads(&mut self, visit: &mut PayloadVisitor<'_>) -> Result<(), CodecError>;
}

impl VisitPayloads for Payloads {
    fn visit_payloads(&mut self, visit: &mut PayloadVisitor<'_>) -> Result<(), CodecError> {
        visit(&mut self.0)
    }
}

impl VisitPayloads for Payload {
    fn visit_payloads(&mut self, visit: &mut PayloadVisitor<'_>) -> Result<(), CodecError> {
        let mut one = vec![std::mem::take(self)];
        visit(&mut one)?;
        match <[Self; 1]>::try_from(one) {
            Ok([payload]) => {
                *self = payload;
                Ok(())
            }
            Err(answer) => Err(CodecError(format!(
                "a codec returned {} payloads for 1",
                answer.len()
            ))),
        }
    }
}

impl VisitPayloads for PayloadMap {
    fn visit_payloads(&mut self, visit: &mut PayloadVisitor<'_>) -> Result<(), CodecError> {
        self.0
            .values_mut()
            .try_for_each(|payload| payload.visit_payloads(visit))
    }
}

impl<T: VisitPayloads> VisitPayloads for Option<T> {
    fn visit_payloads(&mut self, visit: &mut PayloadVisitor<'_>) -> Result<(), CodecError> {
        match self {
            Some(value) => value.visit_payloads(visit),
            None => Ok(()),
        }
    }
}

impl<T: VisitPayloads + ?Sized> VisitPayloads for Box<T> {
    fn visit_payloads(&mut self, visit: &mut PayloadVisitor<'_>) -> Result<(), CodecError> {
        (**self).visit_payloads(visit)
    }
}

impl<T: VisitPayloads> VisitPayloads for Vec<T> {
    fn visit_payloads(&mut self, visit: &mut PayloadVisitor<'_>) -> Result<(), CodecError> {
        self.iter_mut()
            .try_for_each(|item| item.visit_payloads(visit))
    }
}

impl<K: Ord, V: VisitPayloads> VisitPayloads for std::collections::BTreeMap<K, V> {
    fn visit_payloads(&mut self, visit: &mut PayloadVisitor<'_>) -> Result<(), CodecError> {
        self.values_mut()
            .try_for_each(|value| value.visit_payloads(visit))
    }
}

impl VisitPayloads for Failure {
    fn visit_payloads(&mut self, visit: &mut PayloadVisitor<'_>) -> Result<(), CodecError> {
        // Iterative over the cause chain: a deep chain must not deepen the stack.
        let mut failure = Some(self);
        while let Some(current) = failure {
            match &mut current.info {
                FailureInfo::Application { details, .. }
                | FailureInfo::Canceled { details }
                | FailureInfo::Timeout {
                    last_heartbeat_details: details,
                    ..
                }
                | FailureInfo::ResetWorkflow {
                    last_heartbeat_details: details,
                } => details.visit_payloads(visit)?,
                FailureInfo::Terminated
                | FailureInfo::Server { .. }
                | FailureInfo::Activity { .. }
                | FailureInfo::ChildWorkflowExecution { .. } => {}
            }
            failure = current.cause.as_deref_mut();
        }
        Ok(())
    }
}

impl<T: VisitPayloads> VisitPayloads for Result<T, String> {
    fn visit_payloads(&mut self, visit: &mut PayloadVisitor<'_>) -> Result<(), CodecError> {
        match self {
            Ok(value) => value.visit_payloads(visit),
            Err(_) => Ok(()),
        }
    }
}

/// Declares that values of these types carry no payloads.
macro_rules! no_payloads {
    ($($t:ty),* $(,)?) => {$(
        impl $crate::payload_codec::VisitPayloads for $t {
            fn visit_payloads(
                &mut self,
                _: &mut $crate::payload_codec::PayloadVisitor<'_>,
            ) -> Result<(), $crate::payload_codec::CodecError> {
                Ok(())
            }
        }
    )*};
}
pub(crate) use no_payloads;

no_payloads!((), u64);
