//! `subnet_registry` canister: endpoints only. They read the caller and time, call plain Rust
//! in the modules below, and map results.

mod config;
mod storage;

use candid::Principal;
use ic_cdk::api::{msg_caller, time};
use ic_cdk::{init, post_upgrade, query};
use interfaces::audit::{AuditPage, ChainCheck, ConfigError, PageRequest};
use interfaces::subnet_registry::{Config, InitArgs};

/// First install. Without an argument the installing controller becomes the only authority.
#[init]
fn init(args: Option<InitArgs>) {
    let args = args.unwrap_or_else(|| config::default_args(msg_caller()));
    install(args, "installed");
}

/// Upgrade: refuses a downgrade, keeps the stored configuration unless a new one is given.
#[post_upgrade]
fn post_upgrade(args: Option<InitArgs>) {
    let stored = storage::config();
    if let Err(e) = common::lifecycle::check_schema(stored.schema_version, config::SCHEMA_VERSION) {
        ic_cdk::trap(e);
    }
    match args {
        Some(args) => install(args, "reconfigured"),
        None if stored.schema_version != config::SCHEMA_VERSION => {
            let from = stored.schema_version;
            storage::set_config(Config { schema_version: config::SCHEMA_VERSION, ..stored });
            storage::audit(time(), msg_caller(), "schema_migrated", &(from, config::SCHEMA_VERSION));
        }
        None => {}
    }
    storage::recertify();
}

fn install(args: InitArgs, kind: &str) {
    let config = config::build_config(args).unwrap_or_else(|e: ConfigError| ic_cdk::trap(format!("invalid install argument: {e}")));
    storage::set_config(config.clone());
    storage::audit(time(), msg_caller(), kind, &config);
}

/// The configuration in force: authorities, quorum, peers, limits and schema version.
#[query]
fn config() -> Config {
    storage::config()
}

/// A page of the hash-chained audit log; anyone may read it and recompute the chain.
#[query]
fn audit_log(request: PageRequest) -> AuditPage {
    storage::audit_page(&request)
}

/// Re-verifies `count` audit entries from `start` against their stored hashes.
#[query]
fn verify_audit_log(start: u64, count: u64) -> ChainCheck {
    storage::verify_audit(start, count)
}

#[allow(dead_code)]
fn is_authority(p: &Principal) -> bool {
    storage::config().authorities.contains(p)
}

ic_cdk::export_candid!();

#[cfg(test)]
mod did_tests {
    #[test]
    fn exported_service_matches_committed_did() {
        let path = common::did::committed_did(env!("CARGO_MANIFEST_DIR"), "subnet_registry");
        common::did::assert_service_matches(&super::__export_service(), &path);
    }
}
