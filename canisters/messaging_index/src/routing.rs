//! Routing: every principal has a bucket, every assigned bucket a shard. Clients compute the
//! bucket themselves and look the shard up in the table (a query), so routing needs no call to
//! the index per message. A bucket is assigned when its first user registers and moves only by
//! an explicit migration (copy, then flip the table entry).

use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

/// Number of buckets: SHA-256(principal) mod 65,536.
pub const BUCKETS: u32 = 65_536;

/// A shard's number in the index (0 = the first shard, e.g. an adopted single canister).
pub type ShardId = u32;

/// `SHA-256(principal bytes) mod 65,536`: the digest read as a big-endian number, so its last
/// two bytes. Anyone can compute it (the README documents it for client developers).
pub fn bucket_of(principal: &[u8]) -> u16 {
    let digest = Sha256::digest(principal);
    u16::from_be_bytes([digest[30], digest[31]])
}

/// A run of consecutive buckets on one shard: how the table is paged to clients (a table of
/// 65,536 entries compresses to a few runs while shards hold contiguous ranges, and never
/// exceeds one run per assigned bucket).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BucketRun {
    pub first: u16,
    pub last: u16,
    pub shard: ShardId,
}

/// Compresses `(bucket, shard)` pairs in bucket order into runs of consecutive buckets with the
/// same shard, at most `max_runs` of them; also returns the bucket to continue from, if any.
pub fn runs(assigned: impl IntoIterator<Item = (u16, ShardId)>, max_runs: usize) -> (Vec<BucketRun>, Option<u16>) {
    let mut out: Vec<BucketRun> = Vec::new();
    for (bucket, shard) in assigned {
        if let Some(run) = out.last_mut().filter(|r| r.shard == shard && u32::from(r.last) + 1 == u32::from(bucket)) {
            run.last = bucket;
        } else if out.len() == max_runs {
            return (out, Some(bucket));
        } else {
            out.push(BucketRun { first: bucket, last: bucket, shard });
        }
    }
    (out, None)
}

/// Expands runs back into the table they describe (for clients and tests).
pub fn expand(runs: &[BucketRun]) -> BTreeMap<u16, ShardId> {
    runs.iter().flat_map(|r| (r.first..=r.last).map(move |b| (b, r.shard))).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn the_bucket_is_the_digest_mod_65536() {
        // SHA-256 of the empty string ends in ...7852b855.
        assert_eq!(bucket_of(b""), 0xb855);
        // SHA-256("abc") ends in ...f20015ad.
        assert_eq!(bucket_of(b"abc"), 0x15ad);
    }

    #[test]
    fn buckets_spread_principals_evenly() {
        let mut counts = vec![0u32; 16];
        for i in 0u32..64_000 {
            counts[usize::from(bucket_of(&i.to_be_bytes()) >> 12)] += 1;
        }
        // 4,000 expected per sixteenth; a hash spreads within a few percent.
        assert!(counts.iter().all(|&c| (3_700..=4_300).contains(&c)), "{counts:?}");
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]
        #[test]
        fn runs_page_through_the_table_exactly(table in proptest::collection::btree_map(any::<u16>(), 0u32..4, 0..300), page in 1usize..8) {
            let mut rebuilt = BTreeMap::new();
            let mut rest: Vec<(u16, ShardId)> = table.iter().map(|(b, s)| (*b, *s)).collect();
            loop {
                let (page_runs, next) = runs(rest.iter().copied(), page);
                prop_assert!(page_runs.len() <= page);
                for r in &page_runs {
                    prop_assert!(r.first <= r.last);
                }
                rebuilt.extend(expand(&page_runs));
                match next {
                    Some(from) => rest.retain(|(b, _)| *b >= from),
                    None => break,
                }
            }
            prop_assert_eq!(rebuilt, table);
        }
    }
}
