//! The default payload converter's argument rules: one argument is one payload; several
//! arguments (a tuple in Rust, Go's variadic arguments) are one payload each.

use endure_core::{PayloadError, Payloads};
use serde::de::DeserializeOwned;

/// Decodes a function's argument from its payloads (Go's `EncodedValues.Get`, for dynamic
/// workflows and activities): one payload decodes as the whole argument; several decode as
/// a tuple of their values; none as `()`/`None`. The same as
/// [`Payloads::decode_arguments`].
pub fn decode_arguments<T: DeserializeOwned>(payloads: &Payloads) -> Result<T, PayloadError> {
    payloads.decode_arguments()
}
