//! Per-shard capacity from the measured instructions and bytes: sustainable sends and
//! registrations per second, and the users and stored bytes at which a shard should stop taking
//! new users (the thresholds the shard index uses). The assumptions are constants here, printed
//! with the figures, so anyone can redo the arithmetic with other ones.

use serde::Serialize;

/// Instructions per round per execution thread (IC docs, "Resource limits"); a canister runs on
/// at most one thread in a round.
pub const ROUND_INSTRUCTIONS: f64 = 7e9;
/// Rounds per second of an application subnet (assumption: about one block a second).
pub const ROUNDS_PER_SECOND: f64 = 1.0;
/// Share of that budget a shard plans to use (the rest: timers, usage reports, bursts).
pub const HEADROOM: f64 = 0.5;
/// The retention sweep's instruction budget per run (messaging `SWEEP_INSTRUCTION_BUDGET`);
/// while work is due it runs again in the next round.
pub const SWEEP_RUN_BUDGET: f64 = 4e9;
/// Messages an active user sends a day, and the peak hour's rate over the day's average.
pub const MESSAGES_PER_USER_PER_DAY: f64 = 40.0;
pub const PEAK_TO_AVERAGE: f64 = 3.0;
/// Stored bytes a shard is planned to hold at most (policy: well under a canister's stable
/// memory and a small share of a subnet's, so a subnet hosts many shards).
pub const STORED_BYTES_THRESHOLD: f64 = 64.0 * (1u64 << 30) as f64;
/// Stored bytes at which a shard stops taking new users: half the plan, the other half left
/// for the growth of the users it already has.
pub const STOP_STORED_BYTES: f64 = STORED_BYTES_THRESHOLD / 2.0;
/// Days of messages a user's storage is planned for (KeepForever grows without end), and a
/// shorter retention for comparison.
pub const PLANNED_DAYS: f64 = 365.0;
pub const SHORT_RETENTION_DAYS: f64 = 30.0;

#[derive(Clone, Debug, Serialize)]
pub struct Capacity {
    pub budget_per_second: f64,
    pub sends_per_second: f64,
    /// Each message also swept once (a retention policy in force).
    pub sends_per_second_with_sweep: f64,
    pub registrations_per_second: f64,
    pub sweep_removals_per_minute: f64,
    pub sends_per_minute: f64,
    /// Users whose peak sending fills the budget.
    pub users_by_throughput: f64,
    pub bytes_per_user_planned: f64,
    /// Users whose planned storage reaches the threshold.
    pub users_by_storage: f64,
    /// The same when messages are kept `SHORT_RETENTION_DAYS`.
    pub users_by_storage_short_retention: f64,
    /// Bytes a user adds a day (messages only).
    pub bytes_per_user_per_day: f64,
    /// The shard index's thresholds: users (for a 30-day and a 365-day retention) and stored bytes.
    pub user_threshold_short_retention: f64,
    pub user_threshold: f64,
    pub stored_bytes_threshold: f64,
    pub stop_stored_bytes: f64,
}

/// `send`, `register`: instructions per call; `sweep`: instructions per message swept;
/// `bytes_per_message`, `bytes_per_user`: stable memory they occupy.
pub fn capacity(send: f64, register: f64, sweep: f64, bytes_per_message: f64, bytes_per_user: f64) -> Capacity {
    let budget = ROUND_INSTRUCTIONS * ROUNDS_PER_SECOND * HEADROOM;
    let sends = budget / send.max(1.0);
    let sends_swept = budget / (send + sweep).max(1.0);
    let users_by_throughput = sends_swept * 86_400.0 / (MESSAGES_PER_USER_PER_DAY * PEAK_TO_AVERAGE);
    let bytes_per_user_planned = MESSAGES_PER_USER_PER_DAY * PLANNED_DAYS * bytes_per_message + bytes_per_user;
    let users_by_storage = STORED_BYTES_THRESHOLD / bytes_per_user_planned.max(1.0);
    let short = MESSAGES_PER_USER_PER_DAY * SHORT_RETENTION_DAYS * bytes_per_message + bytes_per_user;
    let users_by_storage_short_retention = STORED_BYTES_THRESHOLD / short.max(1.0);
    Capacity {
        budget_per_second: budget,
        sends_per_second: sends,
        sends_per_second_with_sweep: sends_swept,
        registrations_per_second: budget / register.max(1.0),
        sweep_removals_per_minute: 60.0 * ROUNDS_PER_SECOND * SWEEP_RUN_BUDGET / sweep.max(1.0),
        sends_per_minute: 60.0 * sends,
        users_by_throughput,
        bytes_per_user_planned,
        users_by_storage,
        users_by_storage_short_retention,
        bytes_per_user_per_day: MESSAGES_PER_USER_PER_DAY * bytes_per_message,
        user_threshold_short_retention: users_by_throughput.min(users_by_storage_short_retention),
        user_threshold: users_by_throughput.min(users_by_storage),
        stored_bytes_threshold: STORED_BYTES_THRESHOLD,
        stop_stored_bytes: STOP_STORED_BYTES,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capacity_follows_the_stated_assumptions() {
        let c = capacity(1_750_000.0, 3_500_000.0, 250_000.0, 800.0, 2_000.0);
        assert_eq!(c.budget_per_second, 3.5e9);
        assert_eq!(c.sends_per_second, 2_000.0);
        assert_eq!(c.sends_per_second_with_sweep, 1_750.0);
        assert_eq!(c.registrations_per_second, 1_000.0);
        assert_eq!(c.sweep_removals_per_minute, 60.0 * 16_000.0);
        assert_eq!(c.users_by_throughput, 1_750.0 * 86_400.0 / 120.0);
        assert_eq!(c.bytes_per_user_planned, 40.0 * 365.0 * 800.0 + 2_000.0);
        assert_eq!(c.user_threshold, c.users_by_throughput.min(c.users_by_storage));
    }
}
