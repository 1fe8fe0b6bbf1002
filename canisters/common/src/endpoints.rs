//! The endpoints every suite canister has, written once.
//!
//! [`suite_endpoints!`](crate::suite_endpoints) expands, in a canister crate, to `init` and
//! `post_upgrade` (install arguments validated and stored through
//! [`CoreState`](crate::core_state::CoreState), then the canister's own start-up function, which
//! re-arms its timers: timers do not survive upgrades), and to the public `config`, `audit_log`,
//! `verify_audit_log` and `usage_reporter_status` queries.
//!
//! The calling crate provides `mod config` (`default_args`, `build_config`, `SCHEMA_VERSION`)
//! and `mod storage` (`with_core`, `config`), and names its types as plain identifiers: ic-cdk's
//! `export_candid!` re-parses endpoint signatures as text, so they must not hold `$crate` or
//! macro type fragments.

/// Declares an endpoint whose arguments are decoded within [`crate::decode`]'s quotas.
///
/// ic-cdk's `decode_with` would export such an endpoint's argument as `blob` in the Candid
/// interface, so the endpoint is hidden from ic-cdk's export and its Candid signature, doc
/// comment included, is declared from the same tokens (a never-called stub in a module named
/// like the endpoint) for `export_candid!`.
///
/// ```text
/// common::bounded_endpoint! {
///     #[update]
///     /// Doc comment, copied into the .did.
///     fn name(arg: Type) -> Ret { body }
/// }
/// ```
#[macro_export]
macro_rules! bounded_endpoint {
    (#[$kind:ident] $(#[doc = $doc:literal])* fn $name:ident($arg:ident: $ty:ty) -> $ret:ty $body:block) => {
        #[ic_cdk::$kind(hidden = true, decode_with = "common::decode::one")]
        fn $name($arg: $ty) -> $ret $body
        $crate::bounded_endpoint!(@signature [$($doc)*] $kind $name($arg: $ty) -> $ret);
    };
    (#[$kind:ident] $(#[doc = $doc:literal])* fn $name:ident($($arg:ident: $ty:ty),+) -> $ret:ty $body:block) => {
        #[ic_cdk::$kind(hidden = true, decode_with = "common::decode::args")]
        fn $name($($arg: $ty),+) -> $ret $body
        $crate::bounded_endpoint!(@signature [$($doc)*] $kind $name($($arg: $ty),+) -> $ret);
    };
    (#[$kind:ident] $(#[doc = $doc:literal])* async fn $name:ident($arg:ident: $ty:ty) -> $ret:ty $body:block) => {
        #[ic_cdk::$kind(hidden = true, decode_with = "common::decode::one")]
        async fn $name($arg: $ty) -> $ret $body
        $crate::bounded_endpoint!(@signature [$($doc)*] $kind $name($arg: $ty) -> $ret);
    };
    (#[$kind:ident] $(#[doc = $doc:literal])* async fn $name:ident($($arg:ident: $ty:ty),+) -> $ret:ty $body:block) => {
        #[ic_cdk::$kind(hidden = true, decode_with = "common::decode::args")]
        async fn $name($($arg: $ty),+) -> $ret $body
        $crate::bounded_endpoint!(@signature [$($doc)*] $kind $name($($arg: $ty),+) -> $ret);
    };
    (@signature [$($doc:literal)*] $kind:ident $name:ident($($arg:ident: $ty:ty),+) -> $ret:ty) => {
        #[allow(dead_code, unused_variables, unused_imports, clippy::diverging_sub_expression)]
        mod $name {
            use super::*;
            $(#[doc = $doc])*
            #[::candid::candid_method($kind)]
            fn $name($($arg: $ty),+) -> $ret {
                unreachable!("Candid signature only")
            }
        }
    };
}

/// See the [module documentation](crate::endpoints).
#[macro_export]
macro_rules! suite_endpoints {
    (init_args: $init_args:ident, config: $config:ident, start: $start:ident) => {
        /// First install. Without an argument the installing controller becomes the only authority.
        #[ic_cdk::init]
        fn init(args: Option<$init_args>) {
            let caller = ic_cdk::api::msg_caller();
            let args = args.unwrap_or_else(|| config::default_args(caller));
            storage::with_core(|core| core.install(args, config::build_config, ic_cdk::api::time(), caller, "installed"))
                .unwrap_or_else(|e| ic_cdk::trap(format!("invalid install argument: {e}")));
            $start();
        }

        /// Upgrade: refuses a downgrade; keeps the stored configuration unless a new one is given.
        #[ic_cdk::post_upgrade]
        fn post_upgrade(args: Option<$init_args>) {
            let (caller, now) = (ic_cdk::api::msg_caller(), ic_cdk::api::time());
            storage::with_core(|core| core.upgrade(args, config::build_config, config::SCHEMA_VERSION, now, caller))
                .unwrap_or_else(|e| ic_cdk::trap(format!("upgrade refused: {e}")));
            $start();
        }

        /// The configuration in force: authorities, peer canister ids, limits and schema version.
        #[ic_cdk::query]
        fn config() -> $config {
            storage::config()
        }

        $crate::bounded_endpoint! {
            #[query]
            /// A page of the hash-chained audit log (at most `limit` entries and about 1 MiB); anyone may read it and recompute the chain.
            fn audit_log(request: interfaces::audit::PageRequest) -> interfaces::audit::AuditPage {
                storage::with_core(|core| core.audit_page(&request))
            }
        }

        $crate::bounded_endpoint! {
            #[query]
            /// Re-verifies up to `count` audit entries from `start` (at most 10,000 per call) against their stored hashes; `Valid.checked` says how many, continue from `start + checked`.
            fn verify_audit_log(start: u64, count: u64) -> interfaces::audit::ChainCheck {
                storage::with_core(|core| core.verify_audit(start, count))
            }
        }

        /// This canister's usage reporting to the burn ledger (sequence, pending report, last error); `null` when not reporting.
        #[ic_cdk::query]
        fn usage_reporter_status() -> Option<common::usage_reporter::ReporterState> {
            common::usage_reporter::status()
        }
    };
}
