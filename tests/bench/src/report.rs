//! The benchmark's tables (Markdown, as BENCHMARKS.md shows them), the targets (printed, never
//! asserted) and the summary line.

use crate::capacity::{self, Capacity};
use crate::costs;
use crate::figures::{Figures, QueryFigure, UpgradeFigure};
use std::fmt::Write;

/// Targets of issue 14.
pub const UPDATE_RATIO_TARGET: f64 = 1.5;
pub const QUERY_TARGET: u64 = 5_000_000;
/// A query is "flat" when it grows by at most this factor from the reference state.
pub const FLAT_FACTOR: f64 = 1.2;
pub const UPGRADE_RATIO_TARGET: f64 = 1.1;
pub const STORED_RATIO_TARGET: f64 = 1.5;
pub const WASM_GZ_TARGET: u64 = 1 << 20;

pub struct Summary {
    pub worst_update_ratio: f64,
    pub worst_update: String,
    pub worst_query: u64,
    pub worst_query_label: String,
    pub upgrade_ratio: f64,
    pub upgrade_canister: String,
}

impl Summary {
    pub fn line(&self) -> String {
        format!(
            "bench: worst update ratio {:.2}, worst query {} instructions, upgrade ratio {:.2}",
            self.worst_update_ratio, self.worst_query, self.upgrade_ratio
        )
    }
}

pub struct Input<'a> {
    pub scale: &'a str,
    pub date: String,
    pub commit: String,
    pub reference: &'a Figures,
    pub at_scale: &'a Figures,
    pub wasm_gz: Vec<(String, u64)>,
    pub load_seconds: &'a [(String, u64)],
    pub rate_limited: u64,
}

fn n(x: u64) -> String {
    let s = x.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn f(x: f64) -> String {
    n(x.round().max(0.0) as u64)
}

fn mark(ok: bool) -> &'static str {
    if ok {
        "met"
    } else {
        "**MISSED**"
    }
}

fn reference_query<'a>(r: &'a Figures, q: &QueryFigure) -> Option<&'a QueryFigure> {
    r.queries.iter().find(|x| x.canister == q.canister && x.label == q.label)
}

fn upgrade_at<'a>(figures: &'a Figures, canister: &str) -> Option<&'a UpgradeFigure> {
    figures.upgrades.iter().find(|u| u.canister == canister)
}

/// The whole report and its summary.
pub fn render(i: &Input) -> (String, Summary, Option<Capacity>) {
    let mut o = String::new();
    let s = i.at_scale;
    let _ = writeln!(o, "## Benchmark at scale `{}`\n\n{}; {}.\n", i.scale, i.date, i.commit);
    let counts: Vec<String> = s.counts.iter().map(|(k, v)| format!("{} {k}", n(*v))).collect();
    let _ = writeln!(o, "Loaded: {}.\n", counts.join(", "));

    // Hot updates.
    let _ = writeln!(o, "### Hot updates against the baseline (target: ratio <= {UPDATE_RATIO_TARGET})\n");
    let _ = writeln!(o, "| canister | update | instructions (entry / call context / call tree) | baseline | ratio | target | arg B | stored B | cycles (all canisters) |");
    let _ = writeln!(o, "|---|---|---|---|---|---|---|---|---|");
    let mut worst = (0.0f64, String::new());
    for u in &s.updates {
        let ratio = u.ratio().unwrap_or(f64::NAN);
        if u.hot && ratio > worst.0 {
            worst = (ratio, format!("{} {}", u.canister, u.label));
        }
        let target = if u.hot { mark(ratio <= UPDATE_RATIO_TARGET) } else { "info" };
        let _ = writeln!(
            o,
            "| {} | {} | {} / {} / {} | {} | {:.2} | {} | {} | {} | {} |",
            u.canister,
            u.label,
            n(u.instructions),
            n(u.context_instructions),
            n(u.tree_instructions),
            n(u.baseline),
            ratio,
            target,
            u.arg_bytes,
            u.stored_bytes,
            n(u.cycles as u64)
        );
    }

    // Queries at two scales.
    let _ = writeln!(o, "\n### Queries of the client pages (target: <= {} instructions, flat: at most {FLAT_FACTOR}x the reference)\n", n(QUERY_TARGET));
    let _ = writeln!(o, "| canister | query | reference | at scale | growth | flat | <= 5M | reply B |");
    let _ = writeln!(o, "|---|---|---|---|---|---|---|---|");
    let mut worst_query = (0u64, String::new());
    for q in &s.queries {
        if q.instructions > worst_query.0 {
            worst_query = (q.instructions, format!("{} {}", q.canister, q.label));
        }
        let (reference, growth) = match reference_query(i.reference, q) {
            Some(r) => (n(r.instructions), q.instructions as f64 / r.instructions.max(1) as f64),
            None => ("-".into(), f64::NAN),
        };
        let flat = if growth.is_nan() {
            "-"
        } else if growth <= FLAT_FACTOR {
            "flat"
        } else if growth <= 2.0 {
            "**slow growth**"
        } else {
            "**grows with the data**"
        };
        let _ = writeln!(
            o,
            "| {} | {} | {} | {} | {:.2}x | {} | {} | {} |",
            q.canister,
            q.label,
            reference,
            n(q.instructions),
            growth,
            flat,
            mark(q.instructions <= QUERY_TARGET),
            n(q.reply_bytes)
        );
    }

    // Upgrades.
    let _ = writeln!(o, "\n### Upgrades (pre_upgrade + post_upgrade; target: at scale <= {UPGRADE_RATIO_TARGET}x at the reference)\n");
    let _ = writeln!(o, "| canister | records (reference) | instructions | records (scale) | instructions | ratio | target |");
    let _ = writeln!(o, "|---|---|---|---|---|---|---|");
    let mut worst_upgrade = (0.0f64, String::new());
    for u in &s.upgrades {
        let Some(r) = upgrade_at(i.reference, &u.canister) else { continue };
        let ratio = u.instructions as f64 / r.instructions.max(1) as f64;
        if ratio > worst_upgrade.0 {
            worst_upgrade = (ratio, u.canister.clone());
        }
        let _ = writeln!(
            o,
            "| {} | {} | {} | {} | {} | {:.2} | {} |",
            u.canister,
            n(r.records),
            n(r.instructions),
            n(u.records),
            n(u.instructions),
            ratio,
            mark(ratio <= UPGRADE_RATIO_TARGET)
        );
    }

    // Storage, sweep, capacity.
    let send = s.updates.iter().filter(|u| u.label.starts_with("send_message")).map(|u| u.context_instructions).max().unwrap_or(0);
    let register = s.updates.iter().find(|u| u.label == "register").map_or(0, |u| u.context_instructions);
    let mut cap = None;
    if let (Some(st), Some(sw)) = (&s.storage, &s.sweep) {
        let _ = writeln!(o, "\n### Messaging storage (target: stored bytes per message <= {STORED_RATIO_TARGET}x the envelope)\n");
        let env = st.envelope_per_message();
        let _ = writeln!(o, "| measure | bytes | per envelope byte | target |");
        let _ = writeln!(o, "|---|---|---|---|");
        let _ = writeln!(o, "| envelope (ciphertext, nonce, keys), mean of {} messages | {:.0} | 1.00 | |", n(st.messages), env);
        let _ = writeln!(o, "| message record as stored (stored value), mean of {} | {:.0} | {:.2} | {} |", st.record_sample, st.record_per_message(), st.record_per_message() / env, mark(st.record_per_message() <= STORED_RATIO_TARGET * env));
        let _ = writeln!(o, "| messages map in stable memory (nodes, keys, values) per message | {:.0} | {:.2} | {} |", st.memory_per_message(), st.memory_per_message() / env, mark(st.memory_per_message() <= STORED_RATIO_TARGET * env));
        let _ = writeln!(o, "| user maps (users, handles, keys) per user | {:.0} | | |", st.memory_per_user());
        let _ = writeln!(o, "| whole stable memory of the shard | {} | | |", n(st.stable_bytes));

        let c = capacity::capacity(send as f64, register as f64, sw.per_message(), st.memory_per_message(), st.memory_per_user());
        let _ = writeln!(o, "\n### Retention sweep (target: removes more messages per minute than the shard accepts)\n");
        let _ = writeln!(
            o,
            "{} runs removed {} messages for {} instructions: {} instructions a message. At one {}-instruction run per round and {} round/s the sweep removes **{} messages a minute**; the shard accepts **{} a minute** at its sustainable send rate: {}.",
            sw.runs,
            n(sw.removed),
            n(sw.instructions),
            f(sw.per_message()),
            f(capacity::SWEEP_RUN_BUDGET),
            capacity::ROUNDS_PER_SECOND,
            f(c.sweep_removals_per_minute),
            f(c.sends_per_minute),
            mark(c.sweep_removals_per_minute > c.sends_per_minute)
        );

        let _ = writeln!(o, "\n### Cycles ({})\n", costs::PRICE_TABLE);
        let _ = writeln!(o, "| operation | cycles | XDR per million |");
        let _ = writeln!(o, "|---|---|---|");
        for u in s.updates.iter() {
            let _ = writeln!(o, "| {} {} | {} | {:.2} |", u.canister, u.label, n(u.cycles as u64), costs::xdr(u.cycles as f64) * 1e6);
        }
        let per_msg_year = costs::storage_per_year(st.memory_per_message());
        let _ = writeln!(o, "| storing one message for a year ({:.0} B) | {} | {:.2} |", st.memory_per_message(), f(per_msg_year), costs::xdr(per_msg_year) * 1e6);
        let _ = writeln!(o, "| a query | 0 (queries are not charged) | 0 |");
        let _ = writeln!(
            o,
            "\nOn a Free-schedule (rented) subnet none of these fees is charged to the canisters: the renter pays the subnet's rent, the \
             per-message and storage cycles above become 0, and only the limits bind (instructions per round and per message, memory), \
             so the capacity below is what the rent buys. burn_ledger then records such usage for capacity planning, not as burn."
        );

        let _ = writeln!(o, "\n### Per-shard capacity (messaging; assumptions in tests/bench/src/capacity.rs)\n");
        let _ = writeln!(o, "| figure | value | from |");
        let _ = writeln!(o, "|---|---|---|");
        let _ = writeln!(o, "| instruction budget a second | {} | {} per round x {} round/s x {} headroom |", f(c.budget_per_second), f(capacity::ROUND_INSTRUCTIONS), capacity::ROUNDS_PER_SECOND, capacity::HEADROOM);
        let _ = writeln!(o, "| sustainable sends/s (KeepForever) | {} | budget / {} instructions a send |", f(c.sends_per_second), n(send));
        let _ = writeln!(o, "| sustainable sends/s (with a retention policy) | {} | budget / (send + {} swept) |", f(c.sends_per_second_with_sweep), f(sw.per_message()));
        let _ = writeln!(o, "| sustainable registrations/s | {} | budget / {} instructions |", f(c.registrations_per_second), n(register));
        let gib = |x: f64| format!("{} GiB", f(x / (1u64 << 30) as f64));
        let _ = writeln!(o, "| users at the send limit | {} | {} messages/user/day, peak {}x the average, with the sweep |", f(c.users_by_throughput), capacity::MESSAGES_PER_USER_PER_DAY, capacity::PEAK_TO_AVERAGE);
        let _ = writeln!(o, "| stored bytes a user adds a day | {} | {} messages x {:.0} B |", f(c.bytes_per_user_per_day), capacity::MESSAGES_PER_USER_PER_DAY, st.memory_per_message());
        let _ = writeln!(o, "| users that fill {}, messages kept {} days | {} | + {:.0} B profile each |", gib(c.stored_bytes_threshold), capacity::SHORT_RETENTION_DAYS, f(c.users_by_storage_short_retention), st.memory_per_user());
        let _ = writeln!(o, "| users that fill {}, messages kept {} days | {} | (KeepForever: reached after that long) |", gib(c.stored_bytes_threshold), capacity::PLANNED_DAYS, f(c.users_by_storage));
        let _ = writeln!(
            o,
            "| **shard index thresholds: stop taking new users at** | **{} users ({}-day retention) or {} users ({}-day); and at {} stored, whichever comes first** | users: min(send limit, storage); bytes: half the {} plan |",
            f(c.user_threshold_short_retention),
            capacity::SHORT_RETENTION_DAYS,
            f(c.user_threshold),
            capacity::PLANNED_DAYS,
            gib(c.stop_stored_bytes),
            gib(c.stored_bytes_threshold)
        );
        cap = Some(c);
    }

    // Wasm.
    let _ = writeln!(o, "\n### Wasm size (target: <= 1 MiB gzipped)\n");
    let _ = writeln!(o, "| canister | gzipped bytes | target |");
    let _ = writeln!(o, "|---|---|---|");
    for (name, size) in &i.wasm_gz {
        let _ = writeln!(o, "| {name} | {} | {} |", n(*size), mark(*size <= WASM_GZ_TARGET));
    }
    let loads: Vec<String> = i.load_seconds.iter().map(|(k, v)| format!("{k} {v} s")).collect();
    let _ = writeln!(o, "\nLoad wall time (this machine, not a measurement): {}; {} sends waited out the rate limit.", loads.join(", "), i.rate_limited);

    let summary = Summary {
        worst_update_ratio: worst.0,
        worst_update: worst.1,
        worst_query: worst_query.0,
        worst_query_label: worst_query.1,
        upgrade_ratio: worst_upgrade.0,
        upgrade_canister: worst_upgrade.1,
    };
    (o, summary, cap)
}
