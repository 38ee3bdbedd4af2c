//! The default payload converter's argument rules: one argument is one JSON payload; several
//! arguments (a tuple in Rust, Go's variadic arguments) are one payload each.

use endure_core::{Payload, PayloadError, Payloads};
use serde::de::DeserializeOwned;

/// Decodes a function's argument from its payloads (Go's `EncodedValues.Get`, for dynamic
/// workflows and activities): one payload decodes as the whole argument; several decode as
/// a tuple of their values; none as `()`/`None`.
pub fn decode_arguments<T: DeserializeOwned>(payloads: &Payloads) -> Result<T, PayloadError> {
    match payloads.0.as_slice() {
        [] => Payload::null().decode(),
        [single] => single.decode(),
        several => {
            let values: Vec<serde_json::Value> = several
                .iter()
                .map(Payload::decode)
                .collect::<Result<_, _>>()?;
            serde_json::from_value(serde_json::Value::Array(values)).map_err(|error| {
                PayloadError::Decode {
                    encoding: "json/plain".into(),
                    reason: error.to_string(),
                }
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_several_and_no_arguments() {
        let one = Payloads::one(Payload::json(&"user_123").unwrap());
        assert_eq!(decode_arguments::<String>(&one).unwrap(), "user_123");
        let two = Payloads(vec![
            Payload::json(&"user_123").unwrap(),
            Payload::json(&"Order Created").unwrap(),
        ]);
        assert_eq!(
            decode_arguments::<(String, String)>(&two).unwrap(),
            ("user_123".to_owned(), "Order Created".to_owned())
        );
        decode_arguments::<()>(&Payloads::empty()).unwrap();
    }
}
