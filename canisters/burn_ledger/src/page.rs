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
    use candid::Principal;
    use interfaces::audit::MAX_PAGE;
    use interfaces::burn_ledger::*;
    use interfaces::license_issuer::{AppOwner, Sector};

    /// The longest principal (29 bytes) and every number at its largest: no real item is bigger.
    fn worst_principal() -> Principal {
        Principal::from_slice(&[0xff; 29])
    }

    fn worst_amounts() -> Amounts {
        Amounts { cycles: u128::MAX, micro_xdr: u128::MAX, icp_e8s: u128::MAX, unpriced_cycles: u128::MAX, reports: u64::MAX }
    }

    fn worst_burn() -> BurnRecord {
        let p = worst_principal();
        BurnRecord {
            burn_id: u64::MAX,
            reporter: p,
            report: UsageReport {
                sequence: u64::MAX,
                period_start_ns: u64::MAX,
                period_end_ns: u64::MAX,
                cycles_consumed: u128::MAX,
                instructions: Some(u64::MAX),
                bytes_stored: Some(u64::MAX),
                messages_handled: Some(u64::MAX),
            },
            recorded_at_ns: u64::MAX,
            rate: Some(ConversionRate { xdr_permyriad_per_icp: u64::MAX, timestamp_seconds: u64::MAX }),
            icp_e8s: u128::MAX,
            attribution: Some(Attribution {
                subnet_id: Some(p),
                owner: Some(AppOwner {
                    canister: p,
                    app_id: u64::MAX,
                    license_id: u64::MAX,
                    program_id: u64::MAX,
                    institution_id: u64::MAX,
                    sector: Sector::Education,
                    holder: p,
                    subnet_id: p,
                }),
                attributed_at_ns: u64::MAX,
            }),
            attribution_attempts: u32::MAX,
        }
    }

    /// Every list reply at its worst case (a full page of the largest possible items) stays
    /// under the byte bound, so the count bound is the one that binds and no page ever nears
    /// the IC's 2 MiB; the checkpoint (two full lists and the meter) too.
    #[test]
    fn full_pages_of_the_largest_items_stay_far_under_two_mib() {
        let full = MAX_PAGE as usize;
        let p = worst_principal();
        let burns = vec![worst_burn(); full];
        let page = BurnPage { burns: bounded(burns, full, MAX_REPLY_BYTES), total: u64::MAX };
        assert_eq!(page.burns.len(), full);
        let size = candid::encode_one(&page).unwrap().len();
        assert!(size < MAX_REPLY_BYTES / 2, "{size}");
        let gap = SequenceGap { reporter: p, first: u64::MAX, last: u64::MAX, after_period_end_ns: u64::MAX, before_period_start_ns: u64::MAX, detected_at_ns: u64::MAX };
        let totals = ScopeTotals { scope: Scope::Canister(p), amounts: worst_amounts() };
        let bucket = Bucket { start_ns: u64::MAX, amounts: worst_amounts() };
        assert!(candid::encode_one(vec![gap; full]).unwrap().len() < MAX_REPLY_BYTES / 4);
        assert!(candid::encode_one(vec![totals; full]).unwrap().len() < MAX_REPLY_BYTES / 4);
        assert!(candid::encode_one(vec![bucket; full]).unwrap().len() < MAX_REPLY_BYTES / 4);
        let line = CheckpointLine { scope: Scope::Program(u64::MAX), amounts: worst_amounts(), share_of_suite_bps: u128::MAX };
        let rate = BurnRate {
            window_seconds: u64::MAX,
            cycles_in_window: u128::MAX,
            cycles_per_second: u128::MAX,
            micro_xdr_per_second: u128::MAX,
            network_target_milli_xdr_per_second: u64::MAX,
            share_of_target_bps: u128::MAX,
        };
        let meter = Mission70Meter {
            burn_rate: rate,
            rate: Some(ConversionRate { xdr_permyriad_per_icp: u64::MAX, timestamp_seconds: u64::MAX }),
            model: IssuanceModel { annual_gross_minting_bps: u32::MAX, target_net_inflation_bps: u32::MAX, total_supply_e8s: u128::MAX },
            icp_e8s_burned_per_year: Some(u128::MAX),
            burn_centi_bps_of_supply: Some(u128::MAX),
            net_inflation_centi_bps: Some(i128::MIN),
            network_target_icp_e8s_per_year: Some(u128::MAX),
        };
        let lines = vec![CheckpointLine { scope: Scope::Subnet(p), ..line }; crate::breakdown::CHECKPOINT_LINES + 3];
        let checkpoint = BurnCheckpoint {
            now_ns: u64::MAX,
            suite: worst_amounts(),
            meter,
            per_subnet: lines.clone(),
            per_program: lines,
            reporters: u64::MAX,
            pending_attribution: u64::MAX,
            missing_sequences: u64::MAX,
        };
        let size = candid::encode_one(&checkpoint).unwrap().len();
        assert!(size < MAX_REPLY_BYTES / 4, "{size}");
    }

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
