//! The credentials a server accepts: API keys (kept only as SHA-256 hashes), client
//! certificate subjects, and JWTs through a [`TokenVerifier`] — each mapped to the claims it
//! earns. The table is replaced as a whole (a reloaded configuration, a key revoked), which
//! bumps the store's generation so open connections present their credential again.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use endure_core::access::Claims;
use endure_core::time::Timestamp;
use parking_lot::RwLock;
use sha2::{Digest, Sha256};

use super::{AuthError, Authenticated, Authenticator, Credential};

/// How Endure's API keys begin (`endure_` and 43 characters of base64url randomness), so a
/// key pasted where it should not be is recognisable — and a token without it is tried as a
/// JWT.
pub const API_KEY_PREFIX: &str = "endure_";

/// An API key's SHA-256, the only form the server keeps.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ApiKeyHash([u8; 32]);

impl ApiKeyHash {
    /// The hash of `key`.
    pub fn of(key: &str) -> Self {
        Self(Sha256::digest(key.as_bytes()).into())
    }

    /// Reads the lowercase hex form written in configurations (64 hex digits).
    pub fn from_hex(text: &str) -> Option<Self> {
        let text = text.trim();
        if text.len() != 64 || !text.is_ascii() {
            return None;
        }
        let mut bytes = [0u8; 32];
        for (index, byte) in bytes.iter_mut().enumerate() {
            *byte = u8::from_str_radix(&text[index * 2..index * 2 + 2], 16).ok()?;
        }
        Some(Self(bytes))
    }
}

impl fmt::Display for ApiKeyHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for byte in self.0 {
            write!(f, "{byte:02x}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for ApiKeyHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ApiKeyHash({self})")
    }
}

/// A new API key from 32 bytes of randomness (the caller's: the OS's in the CLI), and its
/// hash for the server's configuration.
pub fn generate_api_key(random: [u8; 32]) -> (String, ApiKeyHash) {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut key = String::from(API_KEY_PREFIX);
    // base64url without padding, 6 bits at a time.
    let mut bits = 0u32;
    let mut held = 0u32;
    for byte in random {
        bits = (bits << 8) | u32::from(byte);
        held += 8;
        while held >= 6 {
            held -= 6;
            key.push(char::from(ALPHABET[((bits >> held) & 63) as usize]));
        }
    }
    if held > 0 {
        key.push(char::from(ALPHABET[((bits << (6 - held)) & 63) as usize]));
    }
    let hash = ApiKeyHash::of(&key);
    (key, hash)
}

/// Verifies bearer tokens that are not API keys (JWTs): the claims they carry, or why not.
pub trait TokenVerifier: Send + Sync + 'static {
    /// The claims of `token` at `now`.
    fn verify(&self, token: &str, now: Timestamp) -> Result<Authenticated, AuthError>;
}

/// Every credential a server accepts, and what each earns.
#[derive(Clone, Default)]
pub struct CredentialTable {
    api_keys: BTreeMap<ApiKeyHash, Claims>,
    certificates: BTreeMap<String, Claims>,
    tokens: Option<Arc<dyn TokenVerifier>>,
}

impl fmt::Debug for CredentialTable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CredentialTable")
            .field("api_keys", &self.api_keys.len())
            .field("certificates", &self.certificates.len())
            .field("tokens", &self.tokens.is_some())
            .finish()
    }
}

impl CredentialTable {
    /// Accepts the API key hashing to `hash`, earning `claims`.
    pub fn with_api_key(mut self, hash: ApiKeyHash, claims: Claims) -> Self {
        self.api_keys.insert(hash, claims);
        self
    }

    /// Accepts a client certificate whose verified subject is `subject`, earning `claims`.
    pub fn with_certificate(mut self, subject: impl Into<String>, claims: Claims) -> Self {
        self.certificates.insert(subject.into(), claims);
        self
    }

    /// Verifies other bearer tokens (JWTs) with `verifier`.
    pub fn with_tokens(mut self, verifier: Arc<dyn TokenVerifier>) -> Self {
        self.tokens = Some(verifier);
        self
    }

    /// The table without the API key hashing to `hash`.
    pub fn without_api_key(mut self, hash: &ApiKeyHash) -> Self {
        self.api_keys.remove(hash);
        self
    }

    /// How many API keys and certificate subjects it holds, and whether it verifies JWTs.
    pub fn counts(&self) -> (usize, usize, bool) {
        (
            self.api_keys.len(),
            self.certificates.len(),
            self.tokens.is_some(),
        )
    }

    fn authenticate(
        &self,
        credential: Credential<'_>,
        now: Timestamp,
    ) -> Result<Authenticated, AuthError> {
        if let Some(token) = credential.token {
            if let Some(claims) = self.api_keys.get(&ApiKeyHash::of(token)) {
                return Ok(Authenticated {
                    claims: claims.clone(),
                    expires: None,
                });
            }
            return match &self.tokens {
                Some(verifier) if !token.starts_with(API_KEY_PREFIX) => verifier.verify(token, now),
                _ => Err(AuthError::UnknownApiKey),
            };
        }
        if let Some(subject) = credential.certificate_subject {
            return match self.certificates.get(subject) {
                Some(claims) => Ok(Authenticated {
                    claims: claims.clone(),
                    expires: None,
                }),
                None => Err(AuthError::UnknownCertificate(subject.to_owned())),
            };
        }
        Err(AuthError::Missing)
    }
}

/// The [`Authenticator`] over a [`CredentialTable`] that can be replaced while the server
/// runs.
#[derive(Debug)]
pub struct CredentialStore {
    table: RwLock<Arc<CredentialTable>>,
    generation: tokio::sync::watch::Sender<u64>,
}

impl Default for CredentialStore {
    fn default() -> Self {
        Self::new(CredentialTable::default())
    }
}

impl CredentialStore {
    /// A store accepting what `table` holds.
    pub fn new(table: CredentialTable) -> Self {
        Self {
            table: RwLock::new(Arc::new(table)),
            generation: tokio::sync::watch::Sender::new(1),
        }
    }

    /// The table in force.
    pub fn table(&self) -> Arc<CredentialTable> {
        Arc::clone(&self.table.read())
    }

    /// Replaces the table: connections present their credentials again before their next
    /// call, so a revoked key stops working at once.
    pub fn replace(&self, table: CredentialTable) {
        *self.table.write() = Arc::new(table);
        self.generation.send_modify(|generation| *generation += 1);
    }

    /// Revokes the API key hashing to `hash`.
    pub fn revoke_api_key(&self, hash: &ApiKeyHash) {
        let table = self.table().as_ref().clone().without_api_key(hash);
        self.replace(table);
    }
}

impl Authenticator for CredentialStore {
    fn authenticate(
        &self,
        credential: Credential<'_>,
        now: Timestamp,
    ) -> Result<Authenticated, AuthError> {
        self.table().authenticate(credential, now)
    }

    fn generation(&self) -> u64 {
        *self.generation.borrow()
    }

    fn changes(&self) -> Option<tokio::sync::watch::Receiver<u64>> {
        Some(self.generation.subscribe())
    }
}
