//! `license_issuer` canister: endpoints only. They read the caller and time, call plain Rust
//! in the modules below, and map results.

mod config;
mod storage;

use ic_cdk::api::{msg_caller, time};
use ic_cdk::{init, post_upgrade, query};
use interfaces::audit::{AuditPage, ChainCheck, PageRequest};
use interfaces::license_issuer::{Config, InitArgs};

/// First install. Without an argument the installing controller becomes the only authority.
#[init]
fn init(args: Option<InitArgs>) {
    let args = args.unwrap_or_else(|| config::default_args(msg_caller()));
    storage::with_core(|core| core.install(args, config::build_config, time(), msg_caller(), "installed"))
        .unwrap_or_else(|e| ic_cdk::trap(format!("invalid install argument: {e}")));
}

/// Upgrade: refuses a downgrade, keeps the stored configuration unless a new one is given.
#[post_upgrade]
fn post_upgrade(args: Option<InitArgs>) {
    storage::with_core(|core| core.upgrade(args, config::build_config, config::SCHEMA_VERSION, time(), msg_caller()))
        .unwrap_or_else(|e| ic_cdk::trap(format!("upgrade refused: {e}")));
}

/// The configuration in force: authorities, peers, limits and schema version.
#[query]
fn config() -> Config {
    storage::config()
}

/// A page of the hash-chained audit log; anyone may read it and recompute the chain.
#[query]
fn audit_log(request: PageRequest) -> AuditPage {
    storage::with_core(|core| core.audit_page(&request))
}

/// Re-verifies `count` audit entries from `start` against their stored hashes.
#[query]
fn verify_audit_log(start: u64, count: u64) -> ChainCheck {
    storage::with_core(|core| core.verify_audit(start, count))
}

ic_cdk::export_candid!();

#[cfg(test)]
mod did_tests {
    #[test]
    fn exported_service_matches_committed_did() {
        let path = common::did::committed_did(env!("CARGO_MANIFEST_DIR"), "license_issuer");
        common::did::assert_service_matches(&super::__export_service(), &path);
    }
}
