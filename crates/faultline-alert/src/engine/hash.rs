//! FNV-1a hashes. The engine needs hashes that are the same on every
//! machine and every Rust release (notification ids that receivers
//! deduplicate on, user ids in persisted windows), which the standard
//! library's `DefaultHasher` does not promise.

const OFFSET_64: u64 = 0xcbf2_9ce4_8422_2325;
const PRIME_64: u64 = 0x0000_0100_0000_01b3;
const OFFSET_128: u128 = 0x6c62_272e_07bb_0142_62b8_2175_6295_c58d;
const PRIME_128: u128 = 0x0000_0000_0100_0000_0000_0000_0000_013b;

pub(crate) fn fnv64(bytes: &[u8]) -> u64 {
    bytes.iter().fold(OFFSET_64, |h, b| (h ^ u64::from(*b)).wrapping_mul(PRIME_64))
}

/// 128 bits so that ids of distinct notifications never collide in practice.
pub(crate) fn fnv128(bytes: &[u8]) -> u128 {
    bytes.iter().fold(OFFSET_128, |h, b| (h ^ u128::from(*b)).wrapping_mul(PRIME_128))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_vectors() {
        // Published FNV-1a test vectors, so the ids never change by accident.
        assert_eq!(fnv64(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv64(b"a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(fnv128(b""), OFFSET_128);
        assert_eq!(fnv128(b"a"), 0xd228_cb69_6f1a_8caf_7891_2b70_4e4a_8964);
    }
}
