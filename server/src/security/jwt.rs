//! JWTs as Temporal's default JWT ClaimMapper reads them: signed by a key of a local JWKS
//! file (found by the token's `kid`; a server may have no internet, so keys are never
//! fetched), the subject in `sub`, roles in a `permissions` array of `namespace:role`
//! strings (`system:admin` for every namespace). `exp` and `nbf`, when present, are checked
//! against the server's clock; issuer and audience when configured.

use std::collections::BTreeMap;

use endure_core::access::Claims;
use endure_core::time::Timestamp;
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};

use super::{AuthError, Authenticated, TokenVerifier};

/// How tokens are checked beyond their signature.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JwtSettings {
    /// The issuer (`iss`) tokens must name, if any.
    pub issuer: Option<String>,
    /// The audience (`aud`) tokens must name, if any.
    pub audience: Option<String>,
    /// The claim holding the permissions (Temporal's default: `permissions`).
    pub permissions_claim: String,
    /// Seconds of clock skew tolerated on `exp` and `nbf`.
    pub leeway_seconds: u64,
}

impl Default for JwtSettings {
    fn default() -> Self {
        Self {
            issuer: None,
            audience: None,
            permissions_claim: "permissions".into(),
            leeway_seconds: 60,
        }
    }
}

/// A JWKS that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum JwksError {
    /// Not a JWKS document.
    #[error("the JWKS does not parse: {0}")]
    Parse(String),
    /// A key without a `kid` (tokens find their key by it) or that cannot verify.
    #[error("JWKS key {index}: {reason}")]
    Key {
        /// Its place in the set.
        index: usize,
        /// Why.
        reason: String,
    },
    /// No key at all.
    #[error("the JWKS holds no key")]
    Empty,
}

/// A verification key and the algorithm its JWK pins, if any.
struct Key {
    decoding: DecodingKey,
    algorithm: Option<Algorithm>,
}

/// Verifies JWTs against the keys of a JWKS.
pub struct JwtVerifier {
    keys: BTreeMap<String, Key>,
    settings: JwtSettings,
}

impl std::fmt::Debug for JwtVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JwtVerifier")
            .field("key_ids", &self.keys.keys().collect::<Vec<_>>())
            .field("settings", &self.settings)
            .finish()
    }
}

impl JwtVerifier {
    /// A verifier for the keys of `jwks` (a JWKS JSON document).
    pub fn from_jwks(jwks: &str, settings: JwtSettings) -> Result<Self, JwksError> {
        let set: JwkSet =
            serde_json::from_str(jwks).map_err(|error| JwksError::Parse(error.to_string()))?;
        let mut keys = BTreeMap::new();
        for (index, jwk) in set.keys.iter().enumerate() {
            let key_error = |reason: String| JwksError::Key { index, reason };
            let kid = jwk
                .common
                .key_id
                .clone()
                .ok_or_else(|| key_error("no \"kid\"".into()))?;
            let decoding = DecodingKey::from_jwk(jwk).map_err(|e| key_error(e.to_string()))?;
            let algorithm = match &jwk.common.key_algorithm {
                Some(algorithm) => Some(
                    algorithm
                        .to_string()
                        .parse::<Algorithm>()
                        .map_err(|e| key_error(format!("algorithm {algorithm}: {e}")))?,
                ),
                None => None,
            };
            keys.insert(
                kid,
                Key {
                    decoding,
                    algorithm,
                },
            );
        }
        if keys.is_empty() {
            return Err(JwksError::Empty);
        }
        Ok(Self { keys, settings })
    }
}

fn invalid(reason: impl Into<String>) -> AuthError {
    AuthError::InvalidToken(reason.into())
}

impl TokenVerifier for JwtVerifier {
    fn verify(&self, token: &str, now: Timestamp) -> Result<Authenticated, AuthError> {
        let token = token
            .strip_prefix("Bearer ")
            .or_else(|| token.strip_prefix("bearer "))
            .unwrap_or(token);
        let header =
            jsonwebtoken::decode_header(token).map_err(|error| invalid(error.to_string()))?;
        let kid = header
            .kid
            .as_deref()
            .ok_or_else(|| invalid("no \"kid\" in its header"))?;
        let key = self
            .keys
            .get(kid)
            .ok_or_else(|| invalid(format!("key id {kid:?} is not in the server's JWKS")))?;
        // The key decides the algorithm: a JWK that names one pins it, and the family
        // must match the key's (no HMAC with a public key as its secret).
        if key.algorithm.is_some_and(|pinned| pinned != header.alg)
            || header.alg.family() != key.decoding.family()
        {
            return Err(invalid(format!(
                "algorithm {:?} is not the one of key {kid:?}",
                header.alg
            )));
        }
        let mut validation = Validation::new(header.alg);
        // Time is the server's clock's, checked below.
        validation.validate_exp = false;
        validation.validate_nbf = false;
        validation.set_required_spec_claims(&["sub"]);
        if let Some(issuer) = &self.settings.issuer {
            validation.set_issuer(&[issuer]);
        }
        match &self.settings.audience {
            Some(audience) => validation.set_audience(&[audience]),
            None => validation.validate_aud = false,
        }
        let data = jsonwebtoken::decode::<serde_json::Map<String, serde_json::Value>>(
            token,
            &key.decoding,
            &validation,
        )
        .map_err(|error| invalid(error.to_string()))?;
        let claims = data.claims;
        let now_seconds = now.unix_nanos() / 1_000_000_000;
        let leeway = self.settings.leeway_seconds;
        let seconds = |name: &str| -> Result<Option<u64>, AuthError> {
            match claims.get(name) {
                None => Ok(None),
                Some(value) => value
                    .as_u64()
                    .or_else(|| value.as_f64().filter(|v| *v >= 0.0).map(|v| v as u64))
                    .map(Some)
                    .ok_or_else(|| invalid(format!("\"{name}\" is not a number of seconds"))),
            }
        };
        let expires = seconds("exp")?;
        if let Some(exp) = expires
            && now_seconds >= exp.saturating_add(leeway)
        {
            return Err(AuthError::Expired);
        }
        if let Some(nbf) = seconds("nbf")?
            && now_seconds.saturating_add(leeway) < nbf
        {
            return Err(invalid("not valid yet (\"nbf\" is in the future)"));
        }
        let subject = claims
            .get("sub")
            .and_then(serde_json::Value::as_str)
            .ok_or_else(|| invalid("\"sub\" is not a string"))?;
        let mut granted = Claims::new(subject);
        if let Some(permissions) = claims
            .get(&self.settings.permissions_claim)
            .and_then(serde_json::Value::as_array)
        {
            for permission in permissions {
                let understood = permission
                    .as_str()
                    .is_some_and(|permission| granted.grant_permission(permission));
                if !understood {
                    tracing::debug!(%permission, subject, "ignoring a permission not of the form namespace:role");
                }
            }
        }
        Ok(Authenticated {
            claims: granted,
            expires: expires.map(|exp| {
                Timestamp::from_unix_nanos(exp.saturating_add(leeway).saturating_mul(1_000_000_000))
            }),
        })
    }
}
