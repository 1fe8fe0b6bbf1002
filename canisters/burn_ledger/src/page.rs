//! Reply bounds: every list reply stops at its count limit and before its Candid encoding would
//! pass [`MAX_REPLY_BYTES`], far under the IC's 2 MiB reply limit. The first item is always
//! taken (any single item is a few hundred bytes), so a page with `limit` > 0 always advances.

use candid::CandidType;

/// Largest reply a list query builds (the IC allows 2 MiB).
pub const MAX_REPLY_BYTES: usize = 1_000_000;

/// Bytes `item` takes in a reply, over-estimated by its own Candid header and type table.
pub fn encoded_size<T: CandidType>(item: &T) -> usize {
    candid::encode_one(item).map_or(usize::MAX, |bytes| bytes.len())
}

/// The first `limit` items of `items` whose encodings fit in `max_bytes` together (at least one
/// when `limit` > 0 and any is left).
pub fn bounded<T: CandidType>(items: impl IntoIterator<Item = T>, limit: usize, max_bytes: usize) -> Vec<T> {
    let mut out = Vec::new();
    let mut bytes = 0usize;
    for item in items.into_iter().take(limit) {
        let size = encoded_size(&item);
        if !out.is_empty() && bytes.saturating_add(size) > max_bytes {
            break;
        }
        bytes = bytes.saturating_add(size);
        out.push(item);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_stop_at_the_count_or_the_bytes_and_always_advance() {
        let items = vec!["x".repeat(100); 50];
        assert_eq!(bounded(items.clone(), 10, MAX_REPLY_BYTES).len(), 10);
        assert_eq!(bounded(items.clone(), 0, MAX_REPLY_BYTES).len(), 0);
        let one = encoded_size(&items[0]);
        assert_eq!(bounded(items.clone(), 50, 3 * one + 1).len(), 3);
        assert_eq!(bounded(items, 50, 1).len(), 1, "the first item is always taken");
        assert_eq!(bounded(Vec::<String>::new(), 5, 1).len(), 0);
    }
}
