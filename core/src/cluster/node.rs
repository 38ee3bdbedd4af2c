//! Who is in the cluster: a node's name and the address it serves on.

use serde::{Deserialize, Serialize};

/// Longest node name, in bytes.
pub const NODE_NAME_BYTES_MAX: usize = 64;

/// Longest member address (`host:port`), in bytes.
pub const MEMBER_ADDRESS_BYTES_MAX: usize = 255;

/// Why a node name or address is refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum NodeNameError {
    /// Empty, or longer than [`NODE_NAME_BYTES_MAX`].
    #[error("a node name has 1 to {NODE_NAME_BYTES_MAX} bytes; {0:?} has {1}")]
    Length(String, usize),
    /// A character outside ASCII letters, digits, `.`, `-` and `_`.
    #[error(
        "node name {name:?} has {character:?} at byte {position}; use letters, digits, '.', '-' and '_'"
    )]
    Character {
        /// The refused name.
        name: String,
        /// Where the character is.
        position: usize,
        /// The character.
        character: char,
    },
    /// An empty address, or one longer than [`MEMBER_ADDRESS_BYTES_MAX`].
    #[error("a member address has 1 to {MEMBER_ADDRESS_BYTES_MAX} bytes; {0:?} has {1}")]
    Address(String, usize),
}

/// A node's name: unique in its cluster, stable across its restarts (its leases and its
/// member row are found by it).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct NodeName(String);

impl NodeName {
    /// Validates a node name: 1 to [`NODE_NAME_BYTES_MAX`] bytes of ASCII letters, digits,
    /// `.`, `-` and `_`.
    pub fn new(value: impl Into<String>) -> Result<Self, NodeNameError> {
        let value = value.into();
        if value.is_empty() || value.len() > NODE_NAME_BYTES_MAX {
            let length = value.len();
            return Err(NodeNameError::Length(value, length));
        }
        let allowed = |character: char| {
            character.is_ascii_alphanumeric() || matches!(character, '.' | '-' | '_')
        };
        if let Some((position, character)) = value.char_indices().find(|(_, c)| !allowed(*c)) {
            return Err(NodeNameError::Character {
                name: value,
                position,
                character,
            });
        }
        Ok(Self(value))
    }

    /// The name as a string slice.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for NodeName {
    type Error = NodeNameError;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::new(value)
    }
}

impl From<NodeName> for String {
    fn from(name: NodeName) -> Self {
        name.0
    }
}

impl std::fmt::Display for NodeName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// A member of the cluster: a node and the address its peers, clients and workers reach
/// it at.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Member {
    /// The node.
    pub node: NodeName,
    /// Where it serves (`host:port`).
    pub address: String,
}

impl Member {
    /// A member, its address checked against [`MEMBER_ADDRESS_BYTES_MAX`].
    pub fn new(node: NodeName, address: impl Into<String>) -> Result<Self, NodeNameError> {
        let address = address.into();
        if address.is_empty() || address.len() > MEMBER_ADDRESS_BYTES_MAX {
            let length = address.len();
            return Err(NodeNameError::Address(address, length));
        }
        Ok(Self { node, address })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_short_plain_ascii() {
        assert!(NodeName::new("node-1.eu_west").is_ok());
        assert!(matches!(
            NodeName::new(""),
            Err(NodeNameError::Length(_, 0))
        ));
        assert!(matches!(
            NodeName::new("a".repeat(NODE_NAME_BYTES_MAX + 1)),
            Err(NodeNameError::Length(_, 65))
        ));
        assert!(matches!(
            NodeName::new("node 1"),
            Err(NodeNameError::Character {
                position: 4,
                character: ' ',
                ..
            })
        ));
        let decoded: Result<NodeName, _> = serde_json::from_str("\"bad/name\"");
        assert!(decoded.is_err(), "decoding validates too");
    }

    #[test]
    fn addresses_are_bounded() {
        let node = NodeName::new("a").unwrap();
        assert!(Member::new(node.clone(), "127.0.0.1:7233").is_ok());
        assert!(Member::new(node.clone(), "").is_err());
        assert!(Member::new(node, "x".repeat(MEMBER_ADDRESS_BYTES_MAX + 1)).is_err());
    }
}
