//! Drives the stored rollout ([`crate::rollout`]) by timer: each tick makes the calls the state
//! machine asks for, records each outcome as soon as it arrives (so a trap or an upgrade later
//! loses nothing), and keeps each shard's status `Upgrading` while it is in flight. The timer is
//! re-armed by `start` after every upgrade, so a rollout resumes where it was.

use crate::external_calls;
use crate::hex;
use crate::rollout::{Rollout, ShardStage};
use crate::state::RolloutRecord;
use crate::storage::{read_state, with_state};
use candid::Principal;
use interfaces::messaging_index::*;
use std::time::Duration;

/// How often the timer advances a rollout.
pub const TICK: Duration = Duration::from_secs(5);

/// Starts a rollout of the stored shard wasm to every shard (audited).
pub fn start(caller: Principal) -> Result<RolloutView, IndexError> {
    let now = ic_cdk::api::time();
    with_state(|s| {
        if s.rollout().is_some_and(|r| !r.rollout.finished()) {
            return Err(IndexError::RolloutInProgress);
        }
        let meta = s.wasm_meta().ok_or(IndexError::NoShardWasm)?;
        let shards: Vec<u32> = s.shard_infos().iter().map(|i| i.id).collect();
        if shards.is_empty() {
            return Err(IndexError::InvalidArgument { name: "shards".into(), reason: "there is no shard to roll out to".into() });
        }
        let previous_status = s.shard_infos().iter().map(|i| (i.id, i.status)).collect();
        let batch = s.core.config().policy.rollout_batch_size;
        let rollout = Rollout::new(meta.sha256.clone(), batch, shards);
        s.set_rollout(RolloutRecord { rollout, started_at_ns: now, started_by: caller, previous_status });
        s.core.audit(now, caller, "rollout_started", &(hex(&meta.sha256), batch));
        Ok(s.rollout_view().expect("just set"))
    })
}


/// Arms the timer (at install, upgrade and when a rollout starts).
pub fn arm_timer() {
    ic_cdk_timers::set_timer_interval_serial(TICK, async || advance().await);
}

/// One tick: the calls the rollout needs now, one after the other, each outcome recorded.
pub async fn advance() {
    let Some(mut record) = read_state(|s| s.rollout()) else { return };
    if record.rollout.finished() {
        return;
    }
    let steps = record.rollout.next_steps();
    // Shards entering the rollout stop taking new buckets.
    with_state(|s| {
        for (shard, _) in &steps {
            s.update_shard(*shard, |r| r.status = ShardStatus::Upgrading);
        }
        s.set_rollout(record.clone());
    });
    let Some(wasm) = read_state(|s| s.wasm()) else { return };
    for (shard, call) in steps {
        let Some(record_of_shard) = read_state(|s| s.shard(shard)) else { continue };
        let outcome = external_calls::rollout_step(record_of_shard.canister, &call, &wasm, record_of_shard.snapshot).await;
        with_state(|s| {
            if let crate::rollout::Outcome::Snapshot(id) = &outcome {
                s.update_shard(shard, |r| r.snapshot = Some(id.clone()));
            }
            let Some(mut current) = s.rollout() else { return };
            current.rollout.record(shard, outcome);
            let stage = current.rollout.shards.iter().find(|(id, _)| *id == shard).map(|(_, st)| st.clone());
            match stage {
                Some(ShardStage::Done) | Some(ShardStage::RolledBack { .. }) => {
                    let before = current.previous_status.iter().find(|(id, _)| *id == shard).map_or(ShardStatus::Open, |(_, st)| *st);
                    s.update_shard(shard, |r| r.status = before);
                }
                Some(ShardStage::Stuck { .. }) => s.update_shard(shard, |r| r.status = ShardStatus::Stopped),
                _ => {}
            }
            let now = ic_cdk::api::time();
            if current.rollout.finished() {
                let kind = if current.rollout.halted.is_some() { "rollout_halted" } else { "rollout_finished" };
                s.core.audit(now, ic_cdk::api::canister_self(), kind, &current.rollout.halted);
            }
            s.set_rollout(current);
        });
        record = match read_state(|s| s.rollout()) {
            Some(r) => r,
            None => return,
        };
        if record.rollout.finished() {
            return;
        }
    }
}
