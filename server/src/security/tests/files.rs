//! The auth configuration file and JWTs: keys, certificates and a JWKS loaded from files;
//! tokens signed by a key of the JWKS accepted with their permissions; expired, not yet
//! valid, tampered, wrongly signed, wrong-issuer and unknown-key tokens refused.

use std::sync::Arc;

use endure_core::access::Role;
use endure_core::time::Timestamp;
use jsonwebtoken::jwk::{Jwk, JwkSet};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::json;

use super::super::config::AuthConfig;
use super::super::jwt::{JwtSettings, JwtVerifier};
use super::super::*;

/// An ES256 signing key and its public JWK under `kid`.
fn signing_key(kid: &str) -> (EncodingKey, Jwk) {
    let pair = rcgen::KeyPair::generate().unwrap();
    let key = EncodingKey::from_ec_der(&pair.serialize_der());
    let mut jwk = Jwk::from_encoding_key(&key, Algorithm::ES256).unwrap();
    jwk.common.key_id = Some(kid.to_owned());
    (key, jwk)
}

fn jwks(keys: &[&Jwk]) -> String {
    serde_json::to_string(&JwkSet {
        keys: keys.iter().map(|jwk| (*jwk).clone()).collect(),
    })
    .unwrap()
}

fn token(key: &EncodingKey, kid: &str, claims: serde_json::Value) -> String {
    let mut header = Header::new(Algorithm::ES256);
    header.kid = Some(kid.to_owned());
    jsonwebtoken::encode(&header, &claims, key).unwrap()
}

const NOW: u64 = 1_800_000_000;

fn at(seconds: u64) -> Timestamp {
    Timestamp::from_unix_seconds(seconds)
}

#[test]
fn a_signed_token_earns_its_permissions_until_it_expires() {
    let (key, jwk) = signing_key("k1");
    let settings = JwtSettings {
        issuer: Some("https://auth.example.com/".into()),
        leeway_seconds: 0,
        ..JwtSettings::default()
    };
    let verifier = JwtVerifier::from_jwks(&jwks(&[&jwk]), settings).unwrap();
    let good = token(
        &key,
        "k1",
        json!({
            "sub": "alice",
            "iss": "https://auth.example.com/",
            "exp": NOW + 600,
            "permissions": ["orders:write", "system:read", "bogus", 7],
        }),
    );
    let found = verifier.verify(&good, at(NOW)).unwrap();
    assert_eq!(found.claims.subject, "alice");
    assert_eq!(found.claims.role_in("orders"), Some(Role::Writer));
    assert_eq!(found.claims.role_in("billing"), Some(Role::Reader));
    assert_eq!(found.expires, Some(at(NOW + 600)));
    // The bearer prefix is tolerated.
    verifier.verify(&format!("Bearer {good}"), at(NOW)).unwrap();

    // Expired.
    assert_eq!(
        verifier.verify(&good, at(NOW + 600)),
        Err(AuthError::Expired)
    );
    // Tampered: the payload changed, the signature kept.
    let mut parts: Vec<String> = good.split('.').map(str::to_owned).collect();
    let forged = token(
        &key,
        "k1",
        json!({"sub": "alice", "iss": "https://auth.example.com/", "exp": NOW + 600, "permissions": ["system:admin"]}),
    );
    parts[1] = forged.split('.').nth(1).unwrap().to_owned();
    let tampered = parts.join(".");
    assert!(matches!(
        verifier.verify(&tampered, at(NOW)),
        Err(AuthError::InvalidToken(_))
    ));
    // Signed by a key the server does not have, under a known or an unknown kid.
    let (stranger, _) = signing_key("k1");
    let claims = json!({"sub": "mallory", "iss": "https://auth.example.com/", "exp": NOW + 600});
    assert!(matches!(
        verifier.verify(&token(&stranger, "k1", claims.clone()), at(NOW)),
        Err(AuthError::InvalidToken(_))
    ));
    let unknown = verifier.verify(&token(&stranger, "k9", claims), at(NOW));
    assert!(
        matches!(&unknown, Err(AuthError::InvalidToken(reason)) if reason.contains("k9")),
        "{unknown:?}"
    );
    // Wrong issuer; not yet valid; no subject.
    for claims in [
        json!({"sub": "alice", "iss": "https://evil.example.com/", "exp": NOW + 600}),
        json!({"sub": "alice", "iss": "https://auth.example.com/", "nbf": NOW + 60}),
        json!({"iss": "https://auth.example.com/", "exp": NOW + 600}),
    ] {
        let outcome = verifier.verify(&token(&key, "k1", claims.clone()), at(NOW));
        assert!(
            matches!(outcome, Err(AuthError::InvalidToken(_))),
            "{claims}: {outcome:?}"
        );
    }
    // Not a JWT at all.
    assert!(verifier.verify("not-a-token", at(NOW)).is_err());
}

#[test]
fn a_jwt_beside_api_keys_goes_to_the_verifier_and_expires_its_session() {
    let (key, jwk) = signing_key("k1");
    let verifier = JwtVerifier::from_jwks(&jwks(&[&jwk]), JwtSettings::default()).unwrap();
    let store = Arc::new(CredentialStore::new(
        CredentialTable::default().with_tokens(Arc::new(verifier)),
    ));
    let token = token(
        &key,
        "k1",
        json!({"sub": "ci-bot", "exp": NOW + 10, "permissions": ["orders:worker"]}),
    );
    let found = store
        .authenticate(
            Credential {
                token: Some(&token),
                certificate_subject: None,
            },
            at(NOW),
        )
        .unwrap();
    assert_eq!(found.claims.role_in("orders"), Some(Role::Worker));
    // Leeway of 60 s past its expiry.
    assert_eq!(found.expires, Some(at(NOW + 70)));
}

#[test]
fn the_config_file_loads_keys_certificates_and_a_jwks_and_says_what_is_wrong() {
    let dir = tempfile::tempdir().unwrap();
    let (key, key_hash) = generate_api_key([9; 32]);
    let (_, jwk) = signing_key("k1");
    std::fs::write(dir.path().join("jwks.json"), jwks(&[&jwk])).unwrap();
    let path = dir.path().join("auth.toml");
    std::fs::write(
        &path,
        format!(
            r#"
[[api_key]]
name = "orders-worker"
sha256 = "{key_hash}"
permissions = ["orders:worker"]

[[certificate]]
subject = "CN=billing-app,O=Acme"
permissions = ["billing:write", "system:read"]

[jwt]
jwks_file = "jwks.json"
audience = "endure"
"#
        ),
    )
    .unwrap();
    let config = AuthConfig::load(&path).unwrap();
    assert_eq!(config.table.counts(), (1, 1, true));
    assert_eq!(config.files.len(), 2);
    let store = CredentialStore::new(config.table);
    let by_key = store
        .authenticate(
            Credential {
                token: Some(&key),
                certificate_subject: None,
            },
            at(NOW),
        )
        .unwrap();
    assert_eq!(by_key.claims.subject, "orders-worker");
    let by_certificate = store
        .authenticate(
            Credential {
                token: None,
                certificate_subject: Some("CN=billing-app,O=Acme"),
            },
            at(NOW),
        )
        .unwrap();
    assert_eq!(by_certificate.claims.role_in("billing"), Some(Role::Writer));

    for (text, says) in [
        (
            "[[api_key]]\nname = \"x\"\nsha256 = \"12\"\npermissions = []\n",
            "64 hex",
        ),
        (
            &*format!(
                "[[api_key]]\nname = \"x\"\nsha256 = \"{key_hash}\"\npermissions = [\"orders:owner\"]\n"
            ),
            "orders:owner",
        ),
        ("[[api_keys]]\nname = \"x\"\n", "unknown field"),
        ("[jwt]\njwks_file = \"missing.json\"\n", "missing.json"),
    ] {
        std::fs::write(&path, text).unwrap();
        let error = AuthConfig::load(&path).unwrap_err().to_string();
        assert!(error.contains(says), "{error} should say {says}");
    }
}
