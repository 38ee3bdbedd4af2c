//! Stable hashes for decisions that must come out the same in every process and release
//! (a schedule's request ids and jitter, a workflow's place in a version ramp): FNV-1a, not
//! std's randomly seeded hasher.

/// FNV-1a over `bytes`, from `basis` ([`FNV_BASIS`] is the standard offset basis; another
/// basis gives an independent second hash).
pub(crate) fn fnv1a(bytes: &[u8], basis: u64) -> u64 {
    bytes.iter().fold(basis, |hash, byte| {
        (hash ^ u64::from(*byte)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// MurmurHash3's 64-bit finalizer: every input bit moves every output bit, so inputs that
/// differ in one character (`order-1`, `order-2`) land far apart.
pub(crate) fn mix64(mut hash: u64) -> u64 {
    hash ^= hash >> 33;
    hash = hash.wrapping_mul(0xff51_afd7_ed55_8ccd);
    hash ^= hash >> 33;
    hash = hash.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    hash ^ (hash >> 33)
}

/// A 64-bit FNV-1a hash folded to 32 bits.
pub(crate) fn fold32(hash: u64) -> u64 {
    (hash ^ (hash >> 32)) & 0xffff_ffff
}

/// FNV-1a's standard offset basis.
pub(crate) const FNV_BASIS: u64 = 0xcbf2_9ce4_8422_2325;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_the_published_fnv_1a_vectors() {
        assert_eq!(fnv1a(b"", FNV_BASIS), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a(b"a", FNV_BASIS), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(fnv1a(b"foobar", FNV_BASIS), 0x8594_4171_f739_67e8);
    }
}
