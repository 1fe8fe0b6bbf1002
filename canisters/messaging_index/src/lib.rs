//! `messaging_index`: one per deployment, it lets the messenger grow by adding shards (each a
//! `messaging` canister) on more subnets (`../shared/DESIGN.md`, "Messaging at national scale").
//!
//! This crate holds the index's rules as plain Rust, each module one job, tested natively:
//! - [`routing`]: a user's bucket (SHA-256 of the principal mod 65,536) and the bucket → shard
//!   table clients route by;
//! - [`capacity`]: which shard takes a new bucket, when a new shard is needed and on which
//!   subnet (thresholds per shard and per subnet, allowed subnets only);
//! - [`creation`]: the journal that makes shard creation safe across failures (no canister
//!   created twice, none leaked);
//! - [`directory`]: country-wide unique handles and each principal's registration, reserved
//!   before the home shard is asked and committed or released by its answer — never released on
//!   an unknown outcome;
//! - [`wasm_store`]: the shard wasm uploaded in chunks, checked against its SHA-256;
//! - [`rollout`]: moving every shard to a new module, a batch at a time, each shard snapshotted
//!   before its upgrade and restored if the upgrade fails; halts at the first failure.
//!
//! The canister so far: the shard wasm upload, shard creation through the management canister
//! (journaled), shard status, rollouts by timer, readings of every shard with cycle top-ups and
//! country-wide metrics, the routing table and routes, the directory's lookups. Still to come
//! (issue 15): registration through the home shard, creation by capacity and through the CMC,
//! adoption of an existing shard.

pub mod capacity;
pub mod creation;
pub mod directory;
pub mod rollout;
pub mod routing;
pub mod wasm_store;

/// Lower-case hex of a hash, for audit payloads and messages.
pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

mod config;
mod endpoints;
mod external_calls;
mod readings;
mod registration;
mod rollout_driver;
mod state;
mod storage;

use candid::Principal;
use ic_cdk::{query, update};
use interfaces::messaging_index::*;
use serde_bytes::ByteBuf;
use storage::read_state;

common::suite_endpoints!(init_args: InitArgs, config: Config, start: start);

/// Re-arms the timers (they do not survive upgrades): the rollout resumes where it was; shards
/// are read (and topped up) every 5 minutes; pending registrations are resolved every minute.
fn start() {
    rollout_driver::arm_timer();
    readings::arm_timer();
    registration::arm_timer();
}

common::reply_endpoint! {
    #[update]
    /// Authorities: starts uploading the shard wasm (`bytes` long, gzipped or not, at most 2,000,000 bytes: one `install_code` call carries it) whose SHA-256 is `sha256`. Replaces an upload in progress; an upload does not survive an index upgrade.
    fn begin_shard_wasm_upload(sha256: ByteBuf, bytes: u64) -> Result<UploadProgress, IndexError> {
        endpoints::begin_upload(&sha256, bytes)
    }
}

common::reply_endpoint! {
    #[update]
    /// Authorities: the chunk of the upload that starts at `offset` (1 ..= 1 MiB; the next offset is `received_bytes`; a repeated or skipped chunk is refused with the offset expected).
    fn upload_shard_wasm_chunk(offset: u64, chunk: ByteBuf) -> Result<UploadProgress, IndexError> {
        endpoints::upload_chunk(offset, &chunk)
    }
}

/// Authorities: checks the completed upload (size, SHA-256, a wasm or gzip module) and makes it the shard wasm, audited with its hash. A module that fails the hash check is discarded.
#[update]
fn commit_shard_wasm() -> Result<ShardWasm, IndexError> {
    endpoints::commit_upload()
}

/// The shard wasm new shards are installed from (hash, size, when and by whom), if uploaded.
#[query]
fn shard_wasm() -> Option<ShardWasm> {
    read_state(|s| s.wasm_meta())
}

common::reply_endpoint! {
    #[update]
    /// Authorities: creates a shard from the shard wasm (controllers: the index and the authorities) with the policy's cycles: through the management canister on this index's own subnet, or through the CMC on `subnet` (default: the allowed subnet with the fewest shards). Refused unless the subnet is allowed by the policy and under its shard cap, and vouched for (Live, compliant) by the subnet registry when one is configured; the CMC refuses subnets the index is not authorised for (cycles refunded). Journaled: see `creations`.
    async fn create_shard(subnet: Option<Principal>) -> Result<ShardInfo, IndexError> {
        endpoints::create_shard(subnet).await
    }
}

common::reply_endpoint! {
    #[update]
    /// Registers the caller as a messenger user: the handle (shared handle rules) is reserved across all shards, the caller's bucket routed to a home shard (a new bucket to the least-loaded open shard; a shard is created when none takes it), and the home shard creates the user. A refusal by the shard releases the handle; an unknown outcome keeps it pending (`RegistrationPending`) until the index has asked the shard.
    async fn register(args: interfaces::messaging::RegisterArgs) -> Result<Registered, IndexError> {
        registration::register(args).await
    }
}

/// Authorities: rolls the shard wasm out to every shard, `rollout_batch_size` at a time, by timer: per shard stop, snapshot, upgrade, start, verify the module hash; a failed upgrade is restored from its snapshot and halts the rollout. Refused while a rollout runs.
#[update]
fn start_rollout() -> Result<RolloutView, IndexError> {
    rollout_driver::start(endpoints::authority()?)
}

/// The current or last rollout: each shard's stage and error.
#[query]
fn rollout() -> Option<RolloutView> {
    read_state(|s| s.rollout_view())
}

common::reply_endpoint! {
    #[update]
    /// Authorities: replaces the shard policy (thresholds, cycles per new shard, allowed subnets, rollout batch size); validated like the install argument, audited.
    fn set_policy(policy: ShardPolicy) -> Result<Config, IndexError> {
        endpoints::set_policy(policy)
    }
}

common::reply_endpoint! {
    #[update]
    /// Authorities: opens a shard to new buckets or closes it (its users stay). `Upgrading` is set by rollouts only.
    fn set_shard_status(shard: u32, status: ShardStatus) -> Result<ShardInfo, IndexError> {
        endpoints::set_shard_status(shard, status)
    }
}

/// Every shard with its subnet, status, load and whether it takes new buckets.
#[query]
fn shards() -> Vec<ShardInfo> {
    read_state(|s| s.shard_infos())
}

/// The messenger across all shards from the index's last readings (each shard's `metrics` and `canister_status`, every 5 minutes), with each shard's figures and as-of time, and warnings about cycles.
#[query]
fn metrics() -> IndexMetrics {
    readings::metrics()
}

/// The shard-creation journal: each creation's state; `needs_attention` marks a lost answer or installs that kept failing.
#[query]
fn creations() -> Vec<CreationView> {
    read_state(|s| s.creation_views())
}

common::reply_endpoint! {
    #[query]
    /// A page of the bucket → shard table as runs of consecutive buckets, from bucket `from` (default 0), at most `limit` runs (default and maximum 2,000). A user's bucket is SHA-256(principal) mod 65,536: clients route without asking.
    fn routing_table(from: Option<u16>, limit: Option<u32>) -> RoutingPage {
        read_state(|s| s.routing_page(from.unwrap_or(0), limit.map_or(state::MAX_ROUTING_RUNS, |l| l as usize)))
    }
}

common::reply_endpoint! {
    #[query]
    /// Where `principal`'s messages live: its bucket and the shard the bucket is routed to (none while unassigned).
    fn shard_of(principal: Principal) -> Route {
        read_state(|s| s.route(principal))
    }
}

common::reply_endpoint! {
    #[query]
    /// The registered user holding `handle` and their home shard; a handle still being registered is not shown.
    fn find_by_handle(handle: String) -> Option<Route> {
        read_state(|s| s.directory.find_by_handle(&handle).map(|(principal, _)| s.route(principal)))
    }
}

ic_cdk::export_candid!();

#[cfg(test)]
mod did_tests {
    #[test]
    fn exported_service_matches_committed_did() {
        let path = common::did::committed_did(env!("CARGO_MANIFEST_DIR"), "messaging_index");
        common::did::assert_service_matches(&super::__export_service(), &path);
    }
}
