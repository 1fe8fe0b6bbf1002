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
//! The canister endpoints (registration through the home shard, shard creation through the
//! management canister or the CMC, rollouts, metrics, top-ups) build on these.

pub mod capacity;
pub mod creation;
pub mod directory;
pub mod rollout;
pub mod routing;
pub mod wasm_store;
