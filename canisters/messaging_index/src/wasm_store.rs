//! The shard wasm, uploaded by an authority in chunks (an ingress message is limited to 2 MiB),
//! checked against the SHA-256 announced before the first chunk, and kept with that hash: new
//! shards are installed from it and rollouts move every shard to it.

use sha2::{Digest, Sha256};

/// At most this much module (gzipped) is accepted: well above a shard (about 0.45 MB gzipped)
/// and below what `install_chunked_code` takes.
pub const MAX_MODULE_BYTES: u64 = 2_000_000;
/// At most this much per chunk (leaves room in a 2 MiB ingress message).
pub const MAX_CHUNK_BYTES: usize = 1024 * 1024;

/// A module is a wasm binary (`\0asm`) or a gzipped one (`1f 8b`), as `install_code` takes.
fn looks_like_a_module(bytes: &[u8]) -> bool {
    bytes.starts_with(b"\0asm") || bytes.starts_with(&[0x1f, 0x8b])
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum UploadError {
    /// The announced size is 0 or above [`MAX_MODULE_BYTES`].
    SizeOutOfRange { bytes: u64, max: u64 },
    /// A chunk is empty or larger than [`MAX_CHUNK_BYTES`].
    ChunkSize { bytes: u64, max: u64 },
    /// A chunk was sent for another offset than the next one (a retry of an earlier chunk, or
    /// one skipped): `expected_offset` says where to continue.
    WrongOffset { expected_offset: u64, got: u64 },
    /// The chunks would exceed the announced size.
    TooLong { announced: u64 },
    /// The module is not complete yet.
    Incomplete { have: u64, announced: u64 },
    /// The assembled module's SHA-256 is not the announced one (the upload is discarded).
    HashMismatch { announced: [u8; 32], actual: [u8; 32] },
    /// The bytes are neither wasm nor gzip.
    NotAModule,
}

/// An upload in progress.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Upload {
    pub sha256: [u8; 32],
    pub announced_bytes: u64,
    pub bytes: Vec<u8>,
}

impl Upload {
    /// Starts an upload of `announced_bytes` bytes whose SHA-256 is `sha256`.
    pub fn begin(sha256: [u8; 32], announced_bytes: u64) -> Result<Upload, UploadError> {
        if announced_bytes == 0 || announced_bytes > MAX_MODULE_BYTES {
            return Err(UploadError::SizeOutOfRange { bytes: announced_bytes, max: MAX_MODULE_BYTES });
        }
        Ok(Upload { sha256, announced_bytes, bytes: Vec::new() })
    }

    /// Appends the chunk that starts at `offset`; nothing changes on an error.
    pub fn append(&mut self, offset: u64, chunk: &[u8]) -> Result<(), UploadError> {
        if chunk.is_empty() || chunk.len() > MAX_CHUNK_BYTES {
            return Err(UploadError::ChunkSize { bytes: chunk.len() as u64, max: MAX_CHUNK_BYTES as u64 });
        }
        let have = self.bytes.len() as u64;
        if offset != have {
            return Err(UploadError::WrongOffset { expected_offset: have, got: offset });
        }
        if have + chunk.len() as u64 > self.announced_bytes {
            return Err(UploadError::TooLong { announced: self.announced_bytes });
        }
        self.bytes.extend_from_slice(chunk);
        Ok(())
    }

    /// The complete module, checked: the announced size, the announced hash, a module's magic.
    pub fn finish(self) -> Result<(Vec<u8>, [u8; 32]), UploadError> {
        let have = self.bytes.len() as u64;
        if have != self.announced_bytes {
            return Err(UploadError::Incomplete { have, announced: self.announced_bytes });
        }
        let actual: [u8; 32] = Sha256::digest(&self.bytes).into();
        if actual != self.sha256 {
            return Err(UploadError::HashMismatch { announced: self.sha256, actual });
        }
        if !looks_like_a_module(&self.bytes) {
            return Err(UploadError::NotAModule);
        }
        Ok((self.bytes, actual))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn module(len: usize) -> Vec<u8> {
        let mut m = vec![0x1f, 0x8b];
        m.extend((0..len.saturating_sub(2)).map(|i| (i * 7 % 251) as u8));
        m
    }

    fn sha(bytes: &[u8]) -> [u8; 32] {
        Sha256::digest(bytes).into()
    }

    #[test]
    fn chunks_in_order_assemble_the_announced_module() {
        let m = module(1_999_000);
        let mut u = Upload::begin(sha(&m), m.len() as u64).unwrap();
        for (i, chunk) in m.chunks(MAX_CHUNK_BYTES).enumerate() {
            u.append((i * MAX_CHUNK_BYTES) as u64, chunk).unwrap();
        }
        assert_eq!(u.finish().unwrap(), (m.clone(), sha(&m)));
    }

    #[test]
    fn bad_uploads_are_refused_and_change_nothing() {
        let m = module(3_000);
        assert!(matches!(Upload::begin(sha(&m), 0), Err(UploadError::SizeOutOfRange { .. })));
        assert!(matches!(Upload::begin(sha(&m), MAX_MODULE_BYTES + 1), Err(UploadError::SizeOutOfRange { .. })));
        let mut u = Upload::begin(sha(&m), m.len() as u64).unwrap();
        u.append(0, &m[..1_000]).unwrap();
        let before = u.clone();
        assert_eq!(u.append(0, &m[..1_000]), Err(UploadError::WrongOffset { expected_offset: 1_000, got: 0 }));
        assert_eq!(u.append(2_000, &m[2_000..]), Err(UploadError::WrongOffset { expected_offset: 1_000, got: 2_000 }));
        assert!(matches!(u.append(1_000, &[]), Err(UploadError::ChunkSize { .. })));
        assert!(matches!(u.append(1_000, &vec![0; MAX_CHUNK_BYTES + 1]), Err(UploadError::ChunkSize { .. })));
        assert_eq!(u.append(1_000, &[0; 2_001]), Err(UploadError::TooLong { announced: 3_000 }));
        assert_eq!(u, before);
        assert_eq!(u.clone().finish(), Err(UploadError::Incomplete { have: 1_000, announced: 3_000 }));
        let mut tampered = u.clone();
        tampered.append(1_000, &[0; 2_000]).unwrap();
        assert!(matches!(tampered.finish(), Err(UploadError::HashMismatch { .. })));
        let text = b"hello, not a module".to_vec();
        let mut u = Upload::begin(sha(&text), text.len() as u64).unwrap();
        u.append(0, &text).unwrap();
        assert_eq!(u.finish(), Err(UploadError::NotAModule));
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        #[test]
        fn any_split_assembles_the_same_module(len in 3usize..5_000, cuts in proptest::collection::vec(1usize..2_000, 1..10)) {
            let m = module(len);
            let mut u = Upload::begin(sha(&m), m.len() as u64).unwrap();
            let mut at = 0;
            for cut in cuts.iter().cycle() {
                if at == m.len() { break; }
                let end = (at + cut).min(m.len());
                u.append(at as u64, &m[at..end]).unwrap();
                at = end;
            }
            prop_assert_eq!(u.finish().unwrap().0, m);
        }
    }
}
