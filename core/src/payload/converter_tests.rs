//! The default converter chain and the argument rules, against Temporal's conventions.

use proptest::prelude::*;
use serde::{Deserialize, Serialize};

use super::{Binary, Payload, PayloadError, Payloads, encoding};

#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct Order {
    id: String,
    quantity: u32,
}

#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct Marker;

#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct Blob(Vec<u8>);

fn encoding_of<T: Serialize + ?Sized>(value: &T) -> String {
    Payload::encode(value)
        .unwrap()
        .encoding()
        .unwrap()
        .to_owned()
}

#[test]
fn no_value_is_binary_null_with_no_data() {
    for payload in [
        Payload::encode(&()).unwrap(),
        Payload::encode(&None::<String>).unwrap(),
        Payload::encode(&Marker).unwrap(),
        Payload::encode(&Some(None::<u8>)).unwrap(),
    ] {
        assert_eq!(payload.encoding(), Some(encoding::BINARY_NULL));
        assert!(payload.data.is_empty());
    }
    assert_eq!(Payload::null().decode::<Option<Order>>().unwrap(), None);
    Payload::null().decode::<()>().unwrap();
}

#[test]
fn bytes_are_binary_plain_untouched() {
    let bytes = vec![0_u8, 1, 254, 255];
    for payload in [
        Payload::encode(&bytes).unwrap(),
        Payload::encode(bytes.as_slice()).unwrap(),
        Payload::encode(&Binary(bytes.clone())).unwrap(),
        Payload::encode(&bytes::Bytes::from(bytes.clone())).unwrap(),
        Payload::encode(&Some(bytes.clone())).unwrap(),
        Payload::encode(&Blob(bytes.clone())).unwrap(),
    ] {
        assert_eq!(payload.encoding(), Some(encoding::BINARY_PLAIN));
        assert_eq!(payload.data, bytes);
        assert_eq!(payload.as_binary(), Some(bytes.as_slice()));
        assert_eq!(payload.decode::<Vec<u8>>().unwrap(), bytes);
        assert_eq!(payload.decode::<Binary>().unwrap(), Binary(bytes.clone()));
        assert_eq!(payload.decode::<bytes::Bytes>().unwrap(), bytes.as_slice());
        assert_eq!(
            payload.decode::<Option<Vec<u8>>>().unwrap(),
            Some(bytes.clone())
        );
        assert_eq!(payload.decode::<Blob>().unwrap(), Blob(bytes.clone()));
        assert!(matches!(
            payload.decode::<String>(),
            Err(PayloadError::Decode { ref encoding, .. }) if encoding == "binary/plain"
        ));
    }
    // Even bytes that are valid UTF-8 are bytes, not text (Go decodes them into []byte only).
    assert!(
        Payload::binary(b"text".to_vec())
            .decode::<String>()
            .is_err()
    );
}

#[test]
fn everything_else_is_json_plain() {
    assert_eq!(encoding_of(&vec![1_u16, 2]), "json/plain");
    assert_eq!(encoding_of(&vec!["a", "b"]), "json/plain");
    assert_eq!(encoding_of(&7_u8), "json/plain");
    assert_eq!(encoding_of("text"), "json/plain");
    let order = Order {
        id: "o-1".into(),
        quantity: 2,
    };
    let payload = Payload::encode(&order).unwrap();
    assert_eq!(payload.data, br#"{"id":"o-1","quantity":2}"#);
    assert_eq!(payload.decode::<Order>().unwrap(), order);
    // A list of lists of bytes is a JSON document: only the top level is probed.
    assert_eq!(encoding_of(&vec![vec![1_u8]]), "json/plain");
}

#[test]
fn an_empty_byte_list_is_json_and_still_decodes_as_bytes() {
    let payload = Payload::encode(&Vec::<u8>::new()).unwrap();
    assert_eq!(payload.encoding(), Some("json/plain"));
    assert_eq!(payload.data, b"[]");
    assert!(payload.decode::<Vec<u8>>().unwrap().is_empty());
    assert_eq!(payload.decode::<Binary>().unwrap(), Binary::default());
}

#[test]
fn json_number_lists_written_before_binary_plain_still_decode_as_bytes() {
    let payload = Payload::json(&[0_u8, 1, 2]).unwrap();
    assert_eq!(payload.decode::<Vec<u8>>().unwrap(), [0, 1, 2]);
    assert_eq!(payload.decode::<Binary>().unwrap(), Binary(vec![0, 1, 2]));
}

#[test]
fn arguments_are_one_payload_each() {
    let arguments = Payloads::encode_arguments(&("user_123", 7_u32, vec![9_u8])).unwrap();
    let encodings: Vec<_> = arguments.0.iter().map(|p| p.encoding().unwrap()).collect();
    assert_eq!(encodings, ["json/plain", "json/plain", "binary/plain"]);
    assert_eq!(
        arguments
            .decode_arguments::<(String, u32, Vec<u8>)>()
            .unwrap(),
        ("user_123".to_owned(), 7, vec![9])
    );
    // A dynamic function reads them as a list.
    let values: Vec<serde_json::Value> = Payloads::encode_arguments(&("a", 1))
        .unwrap()
        .decode_arguments()
        .unwrap();
    assert_eq!(values, [serde_json::json!("a"), serde_json::json!(1)]);

    assert!(Payloads::encode_arguments(&()).unwrap().is_empty());
    Payloads::empty().decode_arguments::<()>().unwrap();
    assert_eq!(
        Payloads::empty().decode_arguments::<Option<u8>>().unwrap(),
        None
    );

    let order = Order {
        id: "o-1".into(),
        quantity: 2,
    };
    let one = Payloads::encode_arguments(&order).unwrap();
    assert_eq!(one.0.len(), 1);
    assert_eq!(one.decode_arguments::<Order>().unwrap(), order);
    assert_eq!(Payloads::encode_arguments(&None::<u8>).unwrap().0.len(), 1);
    assert_eq!(Payloads::encode_arguments(&vec![1, 2]).unwrap().0.len(), 1);

    // A one-element tuple is its element's one payload.
    let single = Payloads::encode_arguments(&("only",)).unwrap();
    assert_eq!(single.0, [Payload::json(&"only").unwrap()]);
    assert_eq!(
        single.decode_arguments::<(String,)>().unwrap(),
        ("only".to_owned(),)
    );
    assert_eq!(single.decode_arguments::<String>().unwrap(), "only");
}

#[test]
fn a_tuple_written_as_one_json_array_still_decodes() {
    let old = Payloads::one(Payload::json(&("user_123", 7)).unwrap());
    assert_eq!(
        old.decode_arguments::<(String, u32)>().unwrap(),
        ("user_123".to_owned(), 7)
    );
}

#[test]
fn too_few_arguments_is_a_decode_error_naming_the_count() {
    let arguments = Payloads::encode_arguments(&("a", "b")).unwrap();
    let error = arguments
        .decode_arguments::<(String, String, String)>()
        .unwrap_err();
    assert!(
        matches!(&error, PayloadError::Decode { encoding, .. } if encoding == "2 arguments"),
        "{error}"
    );
}

#[test]
fn unknown_encodings_are_refused_with_the_encoding_named() {
    let payload = Payload::with_encoding("binary/encrypted", vec![1, 2, 3]);
    assert_eq!(
        payload.decode::<Vec<u8>>(),
        Err(PayloadError::Encoding("binary/encrypted".into()))
    );
    let arguments = Payloads(vec![payload.clone(), payload]);
    assert!(arguments.decode_arguments::<(Vec<u8>, Vec<u8>)>().is_err());
}

proptest! {
    #[test]
    fn arguments_round_trip(
        text in ".{0,12}",
        bytes in proptest::collection::vec(any::<u8>(), 0..16),
        number in proptest::option::of(any::<i64>()),
        flag in any::<bool>(),
    ) {
        let arguments = (text.clone(), bytes.clone(), number, flag);
        let payloads = Payloads::encode_arguments(&arguments).unwrap();
        prop_assert_eq!(payloads.0.len(), 4);
        prop_assert_eq!(
            payloads.decode_arguments::<(String, Vec<u8>, Option<i64>, bool)>().unwrap(),
            arguments
        );
        let one = Payload::encode(&bytes).unwrap();
        prop_assert_eq!(one.decode::<Vec<u8>>().unwrap(), bytes);
    }
}
