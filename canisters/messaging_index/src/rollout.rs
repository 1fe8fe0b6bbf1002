//! A rollout moves every shard to a new module hash, a batch at a time, driven by a timer:
//! per shard, stop → snapshot → upgrade → start → verify the module hash. A failed upgrade is
//! undone by loading the snapshot and starting the shard again; a failure that cannot be undone
//! (the snapshot cannot be loaded, the shard cannot be started) halts the rollout, so one bad
//! module never reaches more than one batch. The state lives in stable memory, so a rollout
//! resumes where it was after an index upgrade or a trap.
//!
//! This module is the state machine only: [`Rollout::next_steps`] says which management calls
//! to make now, [`Rollout::record`] takes each call's outcome.

use crate::routing::ShardId;
use serde::{Deserialize, Serialize};

/// Where one shard is in the rollout.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ShardStage {
    Waiting,
    /// `stop_canister` was sent.
    Stopping,
    /// Stopped; `take_canister_snapshot` was sent.
    Snapshotting,
    /// Snapshot `snapshot` taken; `install_code` (upgrade) was sent.
    Upgrading { snapshot: Vec<u8> },
    /// Upgraded; `start_canister` was sent.
    Starting,
    /// Started; `canister_status` was sent to read the module hash.
    Verifying,
    /// Runs the target module.
    Done,
    /// The upgrade failed (`error`); `load_canister_snapshot` was sent.
    Restoring { snapshot: Vec<u8>, error: String },
    /// Restored; `start_canister` was sent.
    RestartingOld { error: String },
    /// Back on its old module and running; the rollout halted because of it.
    RolledBack { error: String },
    /// A failure that could not be undone: the shard needs an operator.
    Stuck { error: String },
}

/// The management call a step needs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Call {
    Stop,
    TakeSnapshot,
    Upgrade,
    Start,
    Status,
    LoadSnapshot(Vec<u8>),
}

/// A call's outcome as the driver saw it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    Ok,
    /// `take_canister_snapshot` replied with this snapshot id.
    Snapshot(Vec<u8>),
    /// `canister_status` replied with this module hash.
    ModuleHash(Option<Vec<u8>>),
    Failed(String),
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rollout {
    pub target_hash: Vec<u8>,
    pub batch_size: u32,
    pub shards: Vec<(ShardId, ShardStage)>,
    /// Why the rollout stopped before the end, if it did.
    pub halted: Option<String>,
}

impl Rollout {
    pub fn new(target_hash: Vec<u8>, batch_size: u32, shards: impl IntoIterator<Item = ShardId>) -> Rollout {
        Rollout { target_hash, batch_size: batch_size.max(1), shards: shards.into_iter().map(|s| (s, ShardStage::Waiting)).collect(), halted: None }
    }

    pub fn finished(&self) -> bool {
        self.halted.is_some() || self.shards.iter().all(|(_, s)| *s == ShardStage::Done)
    }

    fn in_flight(stage: &ShardStage) -> bool {
        !matches!(stage, ShardStage::Waiting | ShardStage::Done | ShardStage::RolledBack { .. } | ShardStage::Stuck { .. })
    }

    /// The calls to make now: one per shard in flight, and new shards started up to the batch
    /// size — none once halted, except to finish undoing shards already in flight.
    pub fn next_steps(&mut self) -> Vec<(ShardId, Call)> {
        let mut busy = self.shards.iter().filter(|(_, s)| Self::in_flight(s)).count() as u32;
        let mut steps = Vec::new();
        for (shard, stage) in self.shards.iter_mut() {
            if *stage == ShardStage::Waiting && self.halted.is_none() && busy < self.batch_size {
                *stage = ShardStage::Stopping;
                busy += 1;
            }
            let call = match stage {
                ShardStage::Stopping => Call::Stop,
                ShardStage::Snapshotting => Call::TakeSnapshot,
                ShardStage::Upgrading { .. } => Call::Upgrade,
                ShardStage::Starting | ShardStage::RestartingOld { .. } => Call::Start,
                ShardStage::Verifying => Call::Status,
                ShardStage::Restoring { snapshot, .. } => Call::LoadSnapshot(snapshot.clone()),
                _ => continue,
            };
            steps.push((*shard, call));
        }
        steps
    }

    /// Takes the outcome of the call made for `shard`, and moves it on.
    pub fn record(&mut self, shard: ShardId, outcome: Outcome) {
        let target = self.target_hash.clone();
        let Some((_, stage)) = self.shards.iter_mut().find(|(s, _)| *s == shard) else { return };
        let next = match (std::mem::replace(stage, ShardStage::Waiting), outcome) {
            (ShardStage::Stopping, Outcome::Ok) => ShardStage::Snapshotting,
            // Not stopped: nothing changed yet; start it again and halt.
            (ShardStage::Stopping, Outcome::Failed(e)) => ShardStage::RestartingOld { error: format!("stop: {e}") },
            (ShardStage::Snapshotting, Outcome::Snapshot(id)) => ShardStage::Upgrading { snapshot: id },
            // No snapshot, no upgrade: the old module still runs once started.
            (ShardStage::Snapshotting, Outcome::Failed(e)) => ShardStage::RestartingOld { error: format!("snapshot: {e}") },
            (ShardStage::Upgrading { .. }, Outcome::Ok) => ShardStage::Starting,
            (ShardStage::Upgrading { snapshot }, Outcome::Failed(e)) => ShardStage::Restoring { snapshot, error: format!("upgrade: {e}") },
            (ShardStage::Starting, Outcome::Ok) => ShardStage::Verifying,
            (ShardStage::Starting, Outcome::Failed(e)) => ShardStage::Stuck { error: format!("start after upgrade: {e}") },
            (ShardStage::Verifying, Outcome::ModuleHash(Some(h))) if h == target => ShardStage::Done,
            (ShardStage::Verifying, Outcome::ModuleHash(h)) => {
                ShardStage::Stuck { error: format!("runs module {} after the upgrade, not the target", h.map_or("none".into(), |h| crate::hex(&h))) }
            }
            (ShardStage::Verifying, Outcome::Failed(e)) => ShardStage::Stuck { error: format!("status after upgrade: {e}") },
            (ShardStage::Restoring { error, .. }, Outcome::Ok) => ShardStage::RestartingOld { error },
            (ShardStage::Restoring { error, .. }, Outcome::Failed(e)) => ShardStage::Stuck { error: format!("{error}; restoring the snapshot: {e}") },
            (ShardStage::RestartingOld { error }, Outcome::Ok) => ShardStage::RolledBack { error },
            (ShardStage::RestartingOld { error }, Outcome::Failed(e)) => ShardStage::Stuck { error: format!("{error}; restarting: {e}") },
            // An outcome that does not fit the stage (a stale callback): keep the stage.
            (previous, _) => previous,
        };
        if let ShardStage::RolledBack { error } | ShardStage::Stuck { error } = &next {
            self.halted.get_or_insert_with(|| format!("shard {shard}: {error}"));
        }
        *stage = next;
    }
}


#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Answers every call as a healthy IC would.
    fn healthy(call: &Call, target: &[u8]) -> Outcome {
        match call {
            Call::TakeSnapshot => Outcome::Snapshot(vec![9]),
            Call::Status => Outcome::ModuleHash(Some(target.to_vec())),
            _ => Outcome::Ok,
        }
    }

    #[test]
    fn a_healthy_rollout_moves_batch_by_batch() {
        let mut r = Rollout::new(vec![1; 32], 2, 0..5);
        let mut rounds = 0;
        while !r.finished() {
            let steps = r.next_steps();
            assert!(steps.len() <= 2, "at most a batch in flight");
            for (shard, call) in steps {
                r.record(shard, healthy(&call, &[1; 32]));
            }
            rounds += 1;
        }
        assert_eq!(r.halted, None);
        // Five steps per shard, two shards at a time: 3 batches × 5 rounds.
        assert_eq!(rounds, 15);
    }

    #[test]
    fn a_failed_upgrade_is_restored_and_halts_the_rollout() {
        let mut r = Rollout::new(vec![1; 32], 1, 0..3);
        loop {
            let steps = r.next_steps();
            if steps.is_empty() {
                break;
            }
            for (shard, call) in steps {
                let outcome = if shard == 1 && call == Call::Upgrade { Outcome::Failed("trapped in post_upgrade".into()) } else { healthy(&call, &[1; 32]) };
                r.record(shard, outcome);
            }
        }
        assert_eq!(r.shards[0].1, ShardStage::Done);
        assert_eq!(r.shards[1].1, ShardStage::RolledBack { error: "upgrade: trapped in post_upgrade".into() });
        assert_eq!(r.shards[2].1, ShardStage::Waiting, "no shard after the failure is touched");
        assert!(r.finished() && r.halted.as_deref().is_some_and(|h| h.starts_with("shard 1")));
    }

    #[test]
    fn a_wrong_module_after_the_upgrade_is_stuck() {
        let mut r = Rollout::new(vec![1; 32], 1, [7]);
        for _ in 0..5 {
            for (shard, call) in r.next_steps() {
                let outcome = if call == Call::Status { Outcome::ModuleHash(Some(vec![2; 32])) } else { healthy(&call, &[1; 32]) };
                r.record(shard, outcome);
            }
        }
        assert!(matches!(&r.shards[0].1, ShardStage::Stuck { error } if error.contains("0202")));
        assert!(r.finished());
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(128))]
        /// Whatever fails: never more than a batch in flight; every shard ends Done, Waiting,
        /// RolledBack or Stuck; once halted no new shard starts; no Done shard without a
        /// verified hash; a halt names the first failing shard.
        #[test]
        fn failures_never_spread_past_a_batch(failures in proptest::collection::vec(any::<bool>(), 60), batch in 1u32..4, shards in 1u32..7) {
            let target = vec![1; 32];
            let mut r = Rollout::new(target.clone(), batch, 0..shards);
            let mut fail = failures.into_iter().cycle();
            let mut started_after_halt = false;
            for _ in 0..200 {
                let halted = r.halted.is_some();
                let steps = r.next_steps();
                prop_assert!(steps.len() as u32 <= batch);
                if steps.is_empty() { break; }
                for (shard, call) in steps {
                    if halted && call == Call::Stop { started_after_halt = true; }
                    let outcome = if fail.next().unwrap_or(false) && call != Call::Stop {
                        Outcome::Failed("injected".into())
                    } else {
                        healthy(&call, &target)
                    };
                    r.record(shard, outcome);
                }
            }
            prop_assert!(!started_after_halt);
            prop_assert!(r.finished());
            for (_, stage) in &r.shards {
                prop_assert!(matches!(stage, ShardStage::Done | ShardStage::Waiting | ShardStage::RolledBack { .. } | ShardStage::Stuck { .. }), "{stage:?}");
            }
            let undone = r.shards.iter().filter(|(_, s)| !matches!(s, ShardStage::Done)).count();
            prop_assert_eq!(r.halted.is_some(), undone > 0);
        }
    }
}
