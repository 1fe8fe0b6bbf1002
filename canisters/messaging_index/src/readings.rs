//! The index reads every shard on a timer — the shard's own `metrics` and the management
//! canister's `canister_status` — and tops up shards that fall below the policy's cycle floor
//! from its own balance. Reading rather than trusting shards to report: the cycles and run
//! status come from the IC itself, and a shard of an older version needs no new endpoint.

use crate::config;
use crate::endpoints::FREEZING_RESERVE;
use crate::external_calls;
use crate::storage::{read_state, with_state};
use candid::{Nat, Principal};
use interfaces::messaging_index::*;
use std::time::Duration;

/// How often every shard is read.
pub const READING_INTERVAL: Duration = Duration::from_secs(300);

pub fn arm_timer() {
    ic_cdk_timers::set_timer_interval_serial(READING_INTERVAL, async || read_all().await);
}

/// Reads every shard once, one after the other, recording each reading as it arrives.
pub async fn read_all() {
    let shards: Vec<(u32, Principal)> = read_state(|s| s.shard_infos().iter().map(|i| (i.id, i.canister)).collect());
    for (id, canister) in shards {
        read_one(id, canister).await;
    }
}

async fn read_one(id: u32, canister: Principal) {
    let facts = external_calls::read_shard(canister).await;
    let policy = crate::storage::config().policy;
    let now = ic_cdk::api::time();
    let below_floor = facts.as_ref().is_ok_and(|f| f.cycles < policy.shard_min_cycles);
    with_state(|s| {
        s.update_shard(id, |r| match &facts {
            Ok(f) => {
                // Running or not is the IC's fact; Closed and Upgrading are the index's own.
                r.status = match (r.status, f.running) {
                    (ShardStatus::Open, false) => ShardStatus::Stopped,
                    (ShardStatus::Stopped, true) => ShardStatus::Open,
                    (status, _) => status,
                };
                match &f.metrics {
                    Ok(m) => {
                        r.users = m.users;
                        r.stored_bytes = m.bytes_stored;
                        r.last_reading = Some(ShardReading {
                            at_ns: now,
                            users: m.users,
                            stored_bytes: m.bytes_stored,
                            messages_stored: m.messages_stored,
                            daily_active_senders: m.daily_active_senders,
                            cycles: f.cycles.clone(),
                            running: f.running,
                        });
                        r.last_error = None;
                    }
                    Err(e) => r.last_error = Some(e.clone()),
                }
            }
            Err(e) => r.last_error = Some(e.clone()),
        });
    });
    if below_floor {
        top_up(id, canister, config::cycles(&policy.shard_top_up_cycles)).await;
    }
}

async fn top_up(id: u32, canister: Principal, amount: u128) {
    let available = ic_cdk::api::canister_cycle_balance();
    let outcome = if available >= amount.saturating_add(FREEZING_RESERVE) {
        external_calls::deposit_cycles(canister, amount).await.map_err(|e| format!("top-up: {e}"))
    } else {
        Err(format!("below its cycle floor; the index holds {available} cycles, too few to send {amount}"))
    };
    with_state(|s| match outcome {
        Ok(()) => {
            s.update_shard(id, |r| {
                if let Some(reading) = r.last_reading.as_mut() {
                    reading.cycles += Nat::from(amount);
                }
            });
            s.core.audit(ic_cdk::api::time(), ic_cdk::api::canister_self(), "shard_topped_up", &(id, canister, amount));
        }
        Err(e) => s.update_shard(id, |r| r.last_error = Some(e)),
    });
}

/// The country-wide figures from the last readings, with warnings for operators.
pub fn metrics() -> IndexMetrics {
    let config = crate::storage::config();
    let per_shard = read_state(|s| s.shard_infos());
    let index_cycles = ic_cdk::api::canister_cycle_balance();
    let readings: Vec<&ShardReading> = per_shard.iter().filter_map(|s| s.last_reading.as_ref()).collect();
    let mut subnets: Vec<Principal> = per_shard.iter().map(|s| s.subnet).collect();
    subnets.sort();
    subnets.dedup();
    let mut warnings = Vec::new();
    for s in &per_shard {
        if let Some(r) = s.last_reading.as_ref().filter(|r| r.cycles < config.policy.shard_min_cycles) {
            warnings.push(format!("shard {} ({}) holds {} cycles, below the floor {}", s.id, s.canister, r.cycles, config.policy.shard_min_cycles));
        }
    }
    if index_cycles < config::cycles(&config.policy.shard_top_up_cycles).saturating_add(FREEZING_RESERVE) {
        warnings.push(format!("the index holds {index_cycles} cycles: too few for another top-up"));
    }
    if index_cycles < config::cycles(&config.policy.new_shard_cycles).saturating_add(FREEZING_RESERVE) {
        warnings.push(format!("the index holds {index_cycles} cycles: too few to create another shard"));
    }
    IndexMetrics {
        shards: per_shard.len() as u32,
        subnets: subnets.len() as u32,
        users: per_shard.iter().map(|s| s.users).sum(),
        stored_bytes: per_shard.iter().map(|s| s.stored_bytes).sum(),
        messages_stored: readings.iter().map(|r| r.messages_stored).sum(),
        daily_active_senders: readings.iter().map(|r| r.daily_active_senders).sum(),
        oldest_reading_ns: if readings.len() == per_shard.len() { readings.iter().map(|r| r.at_ns).min() } else { None },
        shards_unread: per_shard.iter().filter(|s| s.last_reading.is_none() || s.last_error.is_some()).count() as u32,
        index_cycles: Nat::from(index_cycles),
        warnings,
        per_shard,
    }
}
