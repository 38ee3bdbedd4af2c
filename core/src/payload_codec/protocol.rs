//! The payloads of the machine types the protocol's messages carry (options, signals,
//! pending activities). The messages' own impls sit beside them in
//! `protocol/`; every request and response must have one, so a new call says whether it
//! carries payloads.

use super::{CodecError, PayloadVisitor, VisitPayloads};
use crate::execution::{PendingActivity, SignalRequest};
use crate::options::StartWorkflowOptions;

impl VisitPayloads for StartWorkflowOptions {
    fn visit_payloads(&mut self, visit: &mut PayloadVisitor<'_>) -> Result<(), CodecError> {
        self.memo.visit_payloads(visit)
    }
}

impl VisitPayloads for SignalRequest {
    fn visit_payloads(&mut self, visit: &mut PayloadVisitor<'_>) -> Result<(), CodecError> {
        self.input.visit_payloads(visit)?;
        self.header.visit_payloads(visit)
    }
}

impl VisitPayloads for PendingActivity {
    fn visit_payloads(&mut self, visit: &mut PayloadVisitor<'_>) -> Result<(), CodecError> {
        self.heartbeat_details.visit_payloads(visit)?;
        self.last_failure.visit_payloads(visit)
    }
}
