//! Append-only, hash-chained audit log on stable memory, in the spirit of ICRC-3.
//!
//! Entry `i` stores `hash_i = SHA-256(hash_{i-1} || CBOR([i, time_ns, actor, kind, payload]))`
//! with `hash_{-1}` = 32 zero bytes. Readers page through the log and recompute the chain; the
//! canister sets the tip hash as its certified data so the tip can be checked against a
//! certificate. Editing any stored entry breaks the chain at that index ([`AuditLog::verify`]).

use crate::cbor::{self, Cbor};
use candid::Principal;
use ic_stable_structures::{Memory, StableLog};
use interfaces::audit::{AuditEntry, AuditPage, ChainCheck, PageRequest};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// Hash that precedes the first entry.
pub const GENESIS_HASH: [u8; 32] = [0; 32];

/// Most entries one `verify_audit_log` call re-checks, so the query stays far inside the IC's
/// 5B-instruction limit however long the log grows (about 71K instructions an entry on the
/// executor, so about 0.7B a call: tests/integration/tests/audit_limits.rs); a client continues
/// from `start + checked`.
pub const MAX_VERIFY_PER_CALL: u64 = 10_000;

/// Most bytes of entries one audit page carries (each entry counted as its payload, kind and
/// fixed fields), so a page stays well under the IC's 2 MiB reply limit whatever the payloads.
pub const MAX_PAGE_BYTES: usize = 1024 * 1024;

/// Bytes an entry adds to a page: payload, kind, actor, two hashes and a margin for the
/// numbers and Candid framing.
fn page_bytes(e: &StoredEntry) -> usize {
    e.payload.len() + e.kind.len() + e.actor.as_slice().len() + 64 + 32
}

/// An entry as stored (the index is its position in the log).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
struct StoredEntry {
    time_ns: u64,
    actor: Principal,
    kind: String,
    #[serde(with = "serde_bytes")]
    payload: Vec<u8>,
    prev_hash: [u8; 32],
    hash: [u8; 32],
}

/// The hash of one entry given its predecessor's hash. Public so clients and tests can
/// recompute the chain from the entries the canister returns.
pub fn entry_hash(prev_hash: &[u8], index: u64, time_ns: u64, actor: &Principal, kind: &str, payload: &[u8]) -> [u8; 32] {
    let content = cbor::encode(&(index, time_ns, actor.as_slice(), kind, serde_bytes::Bytes::new(payload)));
    let mut hasher = Sha256::new();
    hasher.update(prev_hash);
    hasher.update(&content);
    hasher.finalize().into()
}

/// The log over two memories (index and data), as `StableLog` needs.
pub struct AuditLog<M: Memory> {
    log: StableLog<Cbor<StoredEntry>, M, M>,
    /// The tip hash, kept on the heap once known so an append does not decode the last entry
    /// (read from the log again after an upgrade; a trap rolls the heap back with the log).
    tip: std::cell::Cell<Option<[u8; 32]>>,
}

impl<M: Memory> AuditLog<M> {
    /// Opens the log stored in the given memories, or creates an empty one.
    pub fn init(index_memory: M, data_memory: M) -> Self {
        AuditLog { log: StableLog::init(index_memory, data_memory), tip: std::cell::Cell::new(None) }
    }

    /// Number of entries.
    pub fn len(&self) -> u64 {
        self.log.len()
    }

    pub fn is_empty(&self) -> bool {
        self.log.len() == 0
    }

    /// Hash of the last entry, or [`GENESIS_HASH`] when empty.
    pub fn tip_hash(&self) -> [u8; 32] {
        if let Some(tip) = self.tip.get() {
            return tip;
        }
        let tip = match self.log.len() {
            0 => GENESIS_HASH,
            n => self.stored(n - 1).hash,
        };
        self.tip.set(Some(tip));
        tip
    }

    /// Appends an entry whose payload is the CBOR of `details`, and returns it.
    pub fn append<T: Serialize>(&mut self, time_ns: u64, actor: Principal, kind: &str, details: &T) -> AuditEntry {
        let index = self.log.len();
        let payload = cbor::encode(details);
        let prev_hash = self.tip_hash();
        let hash = entry_hash(&prev_hash, index, time_ns, &actor, kind, &payload);
        let stored = StoredEntry { time_ns, actor, kind: kind.to_string(), payload, prev_hash, hash };
        self.log
            .append(&Cbor(stored.clone()))
            .unwrap_or_else(|e| panic!("audit log append failed (stable memory exhausted?): {e:?}"));
        self.tip.set(Some(hash));
        to_api(index, stored)
    }

    /// One entry.
    pub fn get(&self, index: u64) -> Option<AuditEntry> {
        self.log.get(index).map(|Cbor(stored)| to_api(index, stored))
    }

    /// A page of entries in index order.
    /// Holds at most `limit` entries and at most [`MAX_PAGE_BYTES`] of them (always at least one
    /// when `limit > 0` and `start` is inside the log), so a reader continues from the last
    /// returned index + 1 and always advances.
    pub fn page(&self, request: &PageRequest) -> AuditPage {
        let (start, limit) = request.bounds();
        let end = start.saturating_add(limit as u64).min(self.len());
        let mut entries = Vec::new();
        let mut bytes = 0;
        for i in start..end {
            let stored = self.stored(i);
            bytes += page_bytes(&stored);
            if bytes > MAX_PAGE_BYTES && !entries.is_empty() {
                break;
            }
            entries.push(to_api(i, stored));
        }
        AuditPage { entries, total: self.len(), tip_hash: self.tip_hash().to_vec() }
    }

    /// Re-verifies entries `start..start+count` (clamped to the log and to
    /// [`MAX_VERIFY_PER_CALL`]): each stored hash must equal the recomputed one and link to the
    /// previous entry's stored hash. `Valid { checked }` says how many were checked.
    pub fn verify(&self, start: u64, count: u64) -> ChainCheck {
        let end = start.saturating_add(count.min(MAX_VERIFY_PER_CALL)).min(self.len());
        let mut prev = if start == 0 || start >= self.len() { GENESIS_HASH } else { self.stored(start - 1).hash };
        for index in start..end {
            let entry = self.stored(index);
            if entry.prev_hash != prev {
                return ChainCheck::Broken { index, reason: "prev_hash does not match the previous entry's hash".into() };
            }
            let recomputed = entry_hash(&prev, index, entry.time_ns, &entry.actor, &entry.kind, &entry.payload);
            if recomputed != entry.hash {
                return ChainCheck::Broken { index, reason: "stored hash does not match the entry's content".into() };
            }
            prev = entry.hash;
        }
        ChainCheck::Valid { checked: end.saturating_sub(start) }
    }

    fn stored(&self, index: u64) -> StoredEntry {
        self.log.get(index).unwrap_or_else(|| panic!("audit entry {index} missing below len")).0
    }
}

fn to_api(index: u64, e: StoredEntry) -> AuditEntry {
    AuditEntry {
        index,
        time_ns: e.time_ns,
        actor: e.actor,
        kind: e.kind,
        payload: e.payload,
        prev_hash: e.prev_hash.to_vec(),
        hash: e.hash.to_vec(),
    }
}

/// Sets `tip` as the canister's certified data. Only meaningful inside a canister; natively it
/// does nothing so domain code stays unit-testable.
pub fn certify(tip: &[u8; 32]) {
    #[cfg(target_arch = "wasm32")]
    ic_cdk::api::certified_data_set(tip);
    #[cfg(not(target_arch = "wasm32"))]
    let _ = tip;
}

#[cfg(test)]
mod tests {
    use super::*;
    use ic_stable_structures::VectorMemory;

    fn log_with(n: u64) -> (AuditLog<VectorMemory>, VectorMemory) {
        let data = VectorMemory::default();
        let mut log = AuditLog::init(VectorMemory::default(), data.clone());
        for i in 0..n {
            log.append(1_000 + i, Principal::anonymous(), "test_kind", &("payload-marker", i));
        }
        (log, data)
    }

    #[test]
    fn chain_links_and_verifies() {
        let (log, _) = log_with(5);
        assert_eq!(log.len(), 5);
        assert_eq!(log.verify(0, 100), ChainCheck::Valid { checked: 5 });
        assert_eq!(log.verify(2, 2), ChainCheck::Valid { checked: 2 });
        let first = log.get(0).unwrap();
        assert_eq!(first.prev_hash, GENESIS_HASH.to_vec());
        for i in 1..5 {
            assert_eq!(log.get(i).unwrap().prev_hash, log.get(i - 1).unwrap().hash);
        }
        assert_eq!(log.tip_hash().to_vec(), log.get(4).unwrap().hash);
    }

    #[test]
    fn clients_can_recompute_hashes_from_returned_entries() {
        let (log, _) = log_with(3);
        let mut prev = GENESIS_HASH.to_vec();
        for e in log.page(&PageRequest::default()).entries {
            let h = entry_hash(&prev, e.index, e.time_ns, &e.actor, &e.kind, &e.payload);
            assert_eq!(h.to_vec(), e.hash);
            prev = e.hash;
        }
    }

    #[test]
    fn paging_is_bounded_and_reports_total() {
        let (log, _) = log_with(7);
        let page = log.page(&PageRequest { start: Some(5), limit: Some(10) });
        assert_eq!(page.total, 7);
        assert_eq!(page.entries.iter().map(|e| e.index).collect::<Vec<_>>(), vec![5, 6]);
        assert!(log.page(&PageRequest { start: Some(70), limit: None }).entries.is_empty());
    }

    #[test]
    fn the_tip_kept_on_the_heap_is_the_stored_tip() {
        use ic_stable_structures::memory_manager::{MemoryId, MemoryManager};
        use ic_stable_structures::DefaultMemoryImpl;
        let manager = MemoryManager::init(DefaultMemoryImpl::default());
        let mut log = AuditLog::init(manager.get(MemoryId::new(0)), manager.get(MemoryId::new(1)));
        assert_eq!(log.tip_hash(), GENESIS_HASH);
        for i in 0..5u64 {
            let entry = log.append(i, Principal::anonymous(), "k", &i);
            assert_eq!(log.tip_hash().to_vec(), entry.hash);
        }
        // Opened again (as after an upgrade): the same tip, read from the log.
        let reopened = AuditLog::init(manager.get(MemoryId::new(0)), manager.get(MemoryId::new(1)));
        assert_eq!(reopened.tip_hash(), log.tip_hash());
        assert_eq!(reopened.verify(0, 5), ChainCheck::Valid { checked: 5 });
    }

    #[test]
    fn pages_are_bounded_by_bytes_and_always_advance() {
        let mut log = AuditLog::init(VectorMemory::default(), VectorMemory::default());
        let big = serde_bytes::ByteBuf::from(vec![7u8; 300_000]);
        for i in 0..8u64 {
            log.append(i, Principal::anonymous(), "big", &big);
        }
        let page = log.page(&PageRequest { start: None, limit: Some(500) });
        assert_eq!(page.entries.len(), 3, "3 entries of ~300 KB fit in 1 MiB");
        assert!(candid::encode_one(&page).unwrap().len() < 2 * 1024 * 1024 - 1024);
        // Limit 0 returns nothing; a page always holds at least one entry otherwise.
        assert!(log.page(&PageRequest { start: Some(0), limit: Some(0) }).entries.is_empty());
        let mut at = 0;
        while at < log.len() {
            let page = log.page(&PageRequest { start: Some(at), limit: Some(2) });
            assert!(!page.entries.is_empty() && page.entries.len() <= 2);
            at = page.entries.last().unwrap().index + 1;
        }
    }

    #[test]
    fn verification_is_capped_per_call() {
        let (log, _) = log_with(3);
        assert_eq!(log.verify(0, u64::MAX), ChainCheck::Valid { checked: 3 });
        assert_eq!(log.verify(u64::MAX, u64::MAX), ChainCheck::Valid { checked: 0 });
        let mut log = AuditLog::init(VectorMemory::default(), VectorMemory::default());
        for i in 0..MAX_VERIFY_PER_CALL + 5 {
            log.append(i, Principal::anonymous(), "k", &i);
        }
        assert_eq!(log.verify(0, u64::MAX), ChainCheck::Valid { checked: MAX_VERIFY_PER_CALL });
        assert_eq!(log.verify(MAX_VERIFY_PER_CALL, u64::MAX), ChainCheck::Valid { checked: 5 });
    }

    #[test]
    fn tampering_with_a_stored_entry_is_detected_at_that_index() {
        let (log, data) = log_with(6);
        // Find entry 3's payload in the raw data memory and change one byte of it.
        let target = cbor::encode(&("payload-marker", 3u64));
        let mut bytes = vec![0u8; data.size() as usize * 65536];
        data.read(0, &mut bytes);
        let at = bytes.windows(target.len()).position(|w| w == target.as_slice()).expect("entry 3 payload in memory");
        let last = at + target.len() - 1; // the CBOR of the integer 3 is its last byte
        data.write(last as u64, &[bytes[last] ^ 0x01]);
        // The tampered log still decodes, but its chain breaks exactly at 3.
        assert_eq!(
            log.verify(0, 6),
            ChainCheck::Broken { index: 3, reason: "stored hash does not match the entry's content".into() }
        );
        assert_eq!(log.verify(0, 3), ChainCheck::Valid { checked: 3 });
    }
}
