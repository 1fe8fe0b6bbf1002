//! What keeps a canister running as data grows: upgrades, the messaging retention sweep, and
//! stored bytes per message and per user.

use crate::bench::Bench;
use crate::figures::{StorageFigure, SweepFigure, UpgradeFigure};
use crate::load::{parties, HOT};
use crate::stored::{mem, Image};
use candid::{encode_one, CandidType, Principal};
use ic_executor::EntryKind;
use interfaces::messaging::{MessagingError, MessagingMetrics, RetentionPolicy};
use std::time::Duration;

/// Most sweep runs measured (each is a whole timer message of up to 4B instructions).
const MAX_SWEEP_RUNS: u64 = 6;

/// Upgrades `canister` to its own wasm with a `null` argument (the stored configuration kept)
/// and returns pre_upgrade + post_upgrade instructions.
fn upgrade<A: CandidType>(b: &mut Bench, canister: Principal, name: &str, none: Option<A>) -> u64 {
    let wasm = suite_tests::wasm(name);
    let from = b.env.ex.executions().len();
    b.env.ex.upgrade(canister, &wasm, encode_one(none).unwrap(), suite_tests::TEST_CONTROLLER).unwrap_or_else(|r| panic!("upgrading {name}: {r}"));
    b.env.ex.executions()[from..]
        .iter()
        .filter(|e| e.canister == canister && matches!(e.kind, EntryKind::PreUpgrade | EntryKind::PostUpgrade))
        .map(|e| e.instructions)
        .sum()
}

/// Each canister upgraded once, with its record count.
pub fn upgrades(b: &mut Bench) -> Vec<UpgradeFigure> {
    let ids = b.ids();
    let p = &b.p;
    let records = [
        ("subnet_registry", p.subnets.len() as u64 * b.p.scale.as_ref().map_or(10, |s| s.nodes_per_subnet()) + p.apps.len() as u64),
        ("license_issuer", p.licenses.len() as u64 + p.apps.len() as u64),
        ("messaging", p.users + p.conversations.len() as u64 + p.messages),
        ("burn_ledger", p.reports),
    ];
    let instructions = [
        upgrade(b, ids.registry, "subnet_registry", None::<interfaces::subnet_registry::InitArgs>),
        upgrade(b, ids.issuer, "license_issuer", None::<interfaces::license_issuer::InitArgs>),
        upgrade(b, ids.messaging, "messaging", None::<interfaces::messaging::InitArgs>),
        upgrade(b, ids.ledger, "burn_ledger", None::<interfaces::burn_ledger::InitArgs>),
    ];
    records
        .iter()
        .zip(instructions)
        .map(|(&(canister, records), instructions)| UpgradeFigure { canister: canister.into(), records, instructions })
        .collect()
}

fn metrics(b: &mut Bench) -> MessagingMetrics {
    let m = b.ids().messaging;
    suite_tests::query1(b.env(), m, Principal::anonymous(), "metrics", ())
}

/// Messages of the shard and what they occupy.
pub fn storage(b: &mut Bench) -> StorageFigure {
    let m = b.ids().messaging;
    let metrics = metrics(b);
    let image = Image::of(&b.env.ex, m);
    // The first message of up to 200 conversations: directs and groups alike.
    let keys: Vec<(u64, u64)> = b.p.conversations.iter().take(200).map(|&c| (c, 1)).collect();
    let sample: Vec<u64> = keys.iter().filter_map(|k| image.value(mem::MESSAGING_MESSAGES, k)).map(|v| v.len() as u64).collect();
    let user_maps = [mem::MESSAGING_USERS, mem::MESSAGING_HANDLES, mem::MESSAGING_KEYS];
    StorageFigure {
        messages: metrics.messages_stored,
        envelope_bytes: metrics.bytes_stored,
        record_bytes_sample: sample.iter().sum(),
        record_sample: sample.len() as u64,
        messages_memory_bytes: image.memory_bytes(mem::MESSAGING_MESSAGES),
        stable_bytes: image.stable_bytes(),
        users: metrics.users,
        user_memory_bytes: user_maps.iter().map(|&id| image.memory_bytes(id)).sum(),
    }
}

/// The hot group's owner makes its messages disappear after 5 seconds; the sweep's timer runs
/// are then counted (instructions of the timer messages) against the messages they removed.
pub fn sweep(b: &mut Bench) -> SweepFigure {
    let m = b.ids().messaging;
    // Let every other due timer (usage reports) run first, so the runs below are the sweep's.
    b.ex().advance_time(Duration::from_secs(3600));
    b.ex().tick();
    let before = metrics(b).messages_expired;
    let owner = parties(HOT).members[0];
    let hot = b.p.conversations[HOT as usize];
    let r: (Result<(), MessagingError>,) = b.update(m, owner, "set_retention", (hot, RetentionPolicy::Disappearing { after_seconds: 5 }));
    r.0.expect("set_retention");
    b.ex().advance_time(Duration::from_secs(61));
    let mut figure = SweepFigure::default();
    let mut removed_before = before;
    for _ in 0..MAX_SWEEP_RUNS {
        let from = b.env.ex.executions().len();
        b.ex().tick();
        let runs: Vec<u64> = b.env.ex.executions()[from..]
            .iter()
            .filter(|e| e.canister == m && (e.kind == EntryKind::GlobalTimer || e.method.contains("timer_executor")))
            .map(|e| e.instructions)
            .collect();
        let removed = metrics(b).messages_expired;
        if removed == removed_before {
            break;
        }
        figure.runs += 1;
        figure.instructions += runs.iter().sum::<u64>();
        figure.removed += removed - removed_before;
        removed_before = removed;
    }
    figure
}
