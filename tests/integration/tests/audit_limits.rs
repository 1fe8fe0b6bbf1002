//! The shared audit log's queries stay inside the IC's limits however long the log grows:
//! `verify_audit_log` checks at most `MAX_VERIFY_PER_CALL` entries a call, and that many fit far
//! inside the 5B-instruction query limit; a page stays under the 2 MiB reply limit. Measured on
//! the real burn_ledger wasm (every canister runs the same code from `common`).

use common::audit::{MAX_PAGE_BYTES, MAX_VERIFY_PER_CALL};
use interfaces::audit::{AuditPage, ChainCheck, PageRequest};
use interfaces::burn_ledger::{BurnError, ConversionRate};
use std::time::Duration;
use suite_tests::scenarios::burn_ledger as bl;
use suite_tests::*;

const QUERY_INSTRUCTION_LIMIT: u64 = 5_000_000_000;
const MAX_REPLY: usize = 2 * 1024 * 1024;

#[test]
fn audit_queries_stay_inside_the_query_limits() {
    let mut env = ExecutorEnv::new();
    let env: &mut dyn Env = &mut env;
    let ledger = env.create_canister();
    bl::install_ledger(env, ledger, bl::ledger_args(None, None, vec![], None));
    // Each rate an authority sets is one audit entry.
    for i in 0..1_500u64 {
        env.advance_time(Duration::from_secs(1));
        let rate = ConversionRate { xdr_permyriad_per_icp: 30_000 + i, timestamp_seconds: env.now_ns() / 1_000_000_000 };
        let r: Result<(), BurnError> = update1(env, ledger, bl::ledger_authority(), "set_conversion_rate", (rate,));
        r.unwrap();
    }
    let ex = env.executor().expect("executor");
    let page = ex.query(ledger, Principal::anonymous(), "audit_log", candid::encode_one(PageRequest { start: None, limit: Some(0) }).unwrap()).unwrap();
    let total = candid::decode_one::<AuditPage>(&page).unwrap().total;
    assert!(total >= 1_500);

    let verify = ex.query_with_stats(ledger, Principal::anonymous(), "verify_audit_log", candid::encode_args((0u64, u64::MAX)).unwrap());
    let check: ChainCheck = candid::decode_one(&verify.result.unwrap()).unwrap();
    assert_eq!(check, ChainCheck::Valid { checked: total });
    let per_entry = verify.instructions / total;
    let worst = per_entry * MAX_VERIFY_PER_CALL;
    println!("verify_audit_log: {per_entry} instructions an entry; {MAX_VERIFY_PER_CALL} entries (one call's cap) ≈ {worst} of the {QUERY_INSTRUCTION_LIMIT} query limit");
    assert!(worst < QUERY_INSTRUCTION_LIMIT / 4, "{worst}");

    let page = ex.query_with_stats(ledger, Principal::anonymous(), "audit_log", candid::encode_one(PageRequest { start: None, limit: None }).unwrap());
    println!("audit_log page of 500: {} instructions", page.instructions);
    let bytes = page.result.unwrap();
    assert!(bytes.len() < MAX_REPLY && MAX_PAGE_BYTES < MAX_REPLY);
    assert_eq!(candid::decode_one::<AuditPage>(&bytes).unwrap().entries.len(), 500);
}
