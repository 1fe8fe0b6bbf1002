//! The hot updates at scale, each next to its baseline. Each update is called [`SAMPLES`] times
//! (a B-tree insert splits a node now and then, so one call is not representative); the bytes
//! the suite canister stored for each call are read from its stable memory (`stored.rs`); the
//! baseline's map is filled to the same record count; then the baseline gets each call's
//! argument bytes from the same caller and stores that call's bytes. Figures are means.

use crate::baseline;
use crate::bench::Bench;
use crate::figures::UpdateFigure;
use crate::ids;
use crate::load::{envelope, parties, register_args, HOT, PROGRAMS};
use crate::stored::{mem, Image};
use candid::{decode_one, encode_args, CandidType, Principal};
use ic_executor::CallOutcome;
use interfaces::burn_ledger::{BurnError, ReportReceipt, UsageReportArg};
use interfaces::license_issuer::{License, LicenseError};
use interfaces::messaging::{MessagingError, SendReceipt, UserView};
use interfaces::subnet_registry::{Placement, RegistryError};
use serde::de::DeserializeOwned;
use std::time::Duration;
use suite_tests::scenarios::burn_ledger as bl;

/// Calls per update (and per baseline).
pub const SAMPLES: u64 = 8;
/// Holders that are not among the loaded ones.
const NEW_HOLDER: u64 = 10_000_000;

/// One measured call: who made it, its outcome, argument and the cycles all canisters paid.
struct Call {
    caller: Principal,
    outcome: CallOutcome,
    arg: Vec<u8>,
    cycles: u128,
}

/// A call and the records it stored (read back afterwards).
struct Sample {
    call: Call,
    stored: Vec<Vec<u8>>,
}

fn balances(b: &Bench) -> Vec<(Principal, u128)> {
    b.env.ex.canister_ids().into_iter().map(|id| (id, b.env.ex.cycle_balance(id))).collect()
}

fn call(b: &mut Bench, canister: Principal, caller: Principal, method: &str, arg: Vec<u8>) -> Call {
    let before = balances(b);
    let outcome = b.update_stats(canister, caller, method, arg.clone());
    let cycles = before.iter().map(|&(id, was)| was.saturating_sub(b.env.ex.cycle_balance(id))).sum();
    Call { caller, outcome, arg, cycles }
}

fn reply<T: CandidType + DeserializeOwned>(call: &Call, method: &str) -> T {
    let bytes = call.outcome.result.clone().unwrap_or_else(|r| panic!("{method} rejected: {r}"));
    decode_one(&bytes).unwrap_or_else(|e| panic!("decoding the reply of {method}: {e}"))
}

fn stored(value: Option<Vec<u8>>, what: &str) -> Vec<u8> {
    value.unwrap_or_else(|| panic!("{what}: no stored record found"))
}

fn mean(values: impl Iterator<Item = u128>) -> u128 {
    let (sum, n) = values.fold((0u128, 0u128), |(s, n), v| (s + v, n + 1));
    sum / n.max(1)
}

/// Fills the baseline's maps (`fills`: map, record count, spread), measures each sample on the
/// baseline, and returns the means.
fn figure(b: &mut Bench, canister: &str, label: &str, method: &str, samples: &[Sample], fills: &[(&str, u64, usize, u64)], hot: bool) -> UpdateFigure {
    for &(map, count, value_len, spread) in fills {
        baseline::fill_to(b, map, count, value_len, spread);
    }
    let baselines: Vec<u64> = samples.iter().map(|s| baseline::measure(b, s.call.caller, method, s.call.arg.clone(), s.stored.clone())).collect();
    let m = |f: &dyn Fn(&Sample) -> u128| mean(samples.iter().map(f)) as u64;
    UpdateFigure {
        canister: canister.into(),
        label: label.into(),
        instructions: m(&|s| s.call.outcome.instructions.into()),
        context_instructions: m(&|s| s.call.outcome.call_context_instructions.into()),
        tree_instructions: m(&|s| s.call.outcome.tree_instructions.into()),
        baseline: mean(baselines.iter().map(|&x| x.into())) as u64,
        arg_bytes: m(&|s| s.call.arg.len() as u128),
        stored_bytes: m(&|s| s.stored.iter().map(|v| v.len() as u128).sum()),
        cycles: mean(samples.iter().map(|s| s.call.cycles)),
        samples: samples.len() as u32,
        hot,
    }
}

/// Every hot update, at the scale loaded.
pub fn measure(b: &mut Bench) -> Vec<UpdateFigure> {
    let mut out = messaging(b);
    out.extend(licensing(b));
    out.extend(registry(b));
    out.extend(ledger(b));
    out
}

fn messaging(b: &mut Bench) -> Vec<UpdateFigure> {
    let m = b.ids().messaging;
    // A new minute: every sender's rate window starts afresh.
    b.ex().advance_time(Duration::from_secs(61));
    let (direct, hot) = (b.p.conversations[0], b.p.conversations[HOT as usize]);
    let direct_members = parties(0).members;
    let group_sender = parties(HOT).members[0];
    let mut sends = vec![];
    for k in 0..SAMPLES {
        let env = envelope(&format!("measure-direct-{k}"), Some(&direct_members));
        let c = call(b, m, ids::probe(), "send_message", encode_args((direct, env)).unwrap());
        let seq = reply::<Result<SendReceipt, MessagingError>>(&c, "send_message").expect("direct send").seq;
        sends.push((c, direct, seq));
    }
    for k in 0..SAMPLES {
        let env = envelope(&format!("measure-group-{k}"), None);
        let c = call(b, m, group_sender, "send_message", encode_args((hot, env)).unwrap());
        let seq = reply::<Result<SendReceipt, MessagingError>>(&c, "send_message").expect("group send").seq;
        sends.push((c, hot, seq));
    }
    let mut registers = vec![];
    for k in 0..SAMPLES {
        let i = b.p.users + k;
        let c = call(b, m, ids::user(i), "register", encode_args((register_args(i),)).unwrap());
        reply::<Result<UserView, MessagingError>>(&c, "register").expect("register");
        registers.push((c, i));
    }

    let image = Image::of(&b.env.ex, m);
    let mut sent: Vec<Sample> =
        sends.into_iter().map(|(call, conv, seq)| Sample { stored: vec![stored(image.value(mem::MESSAGING_MESSAGES, &(conv, seq)), "message")], call }).collect();
    let group = sent.split_off(SAMPLES as usize);
    let registered: Vec<Sample> = registers
        .into_iter()
        .map(|(call, i)| Sample {
            stored: vec![
                stored(image.value(mem::MESSAGING_USERS, &ids::user(i)), "user"),
                stored(image.value(mem::MESSAGING_KEYS, &(ids::user(i), 1u32)), "user key"),
            ],
            call,
        })
        .collect();
    drop(image);

    let (messages, conversations, users) = (b.p.messages, b.p.conversations.len() as u64, b.p.users + 1);
    let (msg_len, user_len, key_len) = (sent[0].stored[0].len(), registered[0].stored[0].len(), registered[0].stored[1].len());
    let message_fill = [("messages", messages, msg_len, conversations)];
    let user_fills = [("users", users, user_len, 1), ("handles", users, 0, 1), ("keys", users, key_len, 1)];
    vec![
        figure(b, "messaging", "send_message (direct, 2 wrapped keys)", "send_message", &sent, &message_fill, true),
        figure(b, "messaging", "send_message (group key)", "send_message", &group, &message_fill, true),
        figure(b, "messaging", "register", "register", &registered, &user_fills, true),
    ]
}

fn licensing(b: &mut Bench) -> Vec<UpdateFigure> {
    let issuer = b.ids().issuer;
    // Every seat is taken at full scale: revoking licenses 0..SAMPLES frees one seat in each of
    // their programs (unmeasured).
    for i in 0..SAMPLES {
        let license = b.p.licenses[i as usize];
        let r: (Result<License, LicenseError>,) = b.update(issuer, ids::manager(i % PROGRAMS), "revoke_license", (license, "benchmark".to_string()));
        r.0.expect("revoke_license");
    }
    let mut offers = vec![];
    for i in 0..SAMPLES {
        let (program, holder) = (b.p.programs[(i % PROGRAMS) as usize], ids::holder(NEW_HOLDER + i));
        let c = call(b, issuer, ids::manager(i % PROGRAMS), "offer_license", encode_args((program, holder)).unwrap());
        let license = reply::<Result<License, LicenseError>>(&c, "offer_license").expect("offer_license");
        offers.push((c, license.id, holder));
    }
    let image = Image::of(&b.env.ex, issuer);
    let offers: Vec<(Sample, u64, Principal)> = offers
        .into_iter()
        .map(|(call, id, holder)| (Sample { stored: vec![stored(image.value(mem::ISSUER_LICENSES, &id), "offered license")], call }, id, holder))
        .collect();
    drop(image);
    let mut accepts = vec![];
    for (_, id, holder) in &offers {
        let c = call(b, issuer, *holder, "accept_license", encode_args((*id,)).unwrap());
        reply::<Result<License, LicenseError>>(&c, "accept_license").expect("accept_license");
        accepts.push((c, *id));
    }
    let image = Image::of(&b.env.ex, issuer);
    let accepts: Vec<Sample> =
        accepts.into_iter().map(|(call, id)| Sample { stored: vec![stored(image.value(mem::ISSUER_LICENSES, &id), "accepted license")], call }).collect();
    drop(image);
    // Licenses 1..first_new existed before; the baseline's offers take the next ids, as the
    // canister's did, so its accepts replace them.
    let first_new = offers[0].1;
    let offers: Vec<Sample> = offers.into_iter().map(|(s, _, _)| s).collect();
    let fill = [("licenses", first_new - 1, offers[0].stored[0].len(), 1)];
    vec![
        figure(b, "license_issuer", "offer_license", "offer_license", &offers, &fill, true),
        figure(b, "license_issuer", "accept_license", "accept_license", &accepts, &[], true),
    ]
}

fn registry(b: &mut Bench) -> Vec<UpdateFigure> {
    let ids = b.ids();
    let subnet = b.p.subnets[0];
    let mut records = vec![];
    for _ in 0..SAMPLES {
        let canister = b.env().create_canister();
        // Sent as license_issuer, the registry's placement recorder (its `register_app` makes this call).
        let c = call(b, ids.registry, ids.issuer, "record_placement", encode_args((canister, subnet)).unwrap());
        reply::<Result<Placement, RegistryError>>(&c, "record_placement").expect("record_placement");
        records.push((c, canister));
    }
    let image = Image::of(&b.env.ex, ids.registry);
    let samples: Vec<Sample> =
        records.into_iter().map(|(call, canister)| Sample { stored: vec![stored(image.value(mem::REGISTRY_PLACEMENTS, &canister), "placement")], call }).collect();
    drop(image);
    let fill = [("placements", b.p.apps.len() as u64, samples[0].stored[0].len(), 1)];
    vec![figure(b, "subnet_registry", "record_placement", "record_placement", &samples, &fill, true)]
}

/// App `j`'s next hourly report, as `report_usage`'s argument.
fn next_report(b: &mut Bench, j: u64) -> Vec<u8> {
    let now = b.env.ex.time_ns();
    let (seq, last_end) = b.p.app_reports[j as usize];
    let start = if seq == 0 { now - 3_600_000_000_000 } else { last_end };
    let report = bl::usage(seq + 1, start, now, crate::load::app_hour_cycles(j));
    encode_args((UsageReportArg::from(report),)).unwrap()
}

/// Hourly reports whose attribution cache entry is fresh (no calls: the hot path), from apps
/// 0..SAMPLES; and hourly reports that find it expired (lookups at license_issuer and
/// subnet_registry; with the default 6-hour TTL, one report in six), from apps
/// SAMPLES..2*SAMPLES, which report every hour until their cache entry expires. A report is
/// classified by whether its call context had callbacks.
fn ledger(b: &mut Bench) -> Vec<UpdateFigure> {
    let ledger = b.ids().ledger;
    let (mut fresh, mut expired) = (vec![], vec![]);
    let report = |b: &mut Bench, j: u64| {
        let arg = next_report(b, j);
        let c = call(b, ledger, b.p.apps[j as usize], "report_usage", arg);
        let receipt = reply::<Result<ReportReceipt, BurnError>>(&c, "report_usage").expect("report_usage");
        let now = b.env.ex.time_ns();
        b.p.app_reports[j as usize] = (b.p.app_reports[j as usize].0 + 1, now);
        (c.outcome.call_context_instructions > c.outcome.instructions, c, receipt.burn_id)
    };
    b.ex().advance_time(Duration::from_secs(3600));
    for j in 0..SAMPLES {
        let (lookups, c, id) = report(b, j);
        if !lookups {
            fresh.push((c, id));
        }
    }
    let mut waiting: Vec<u64> = (SAMPLES..2 * SAMPLES).collect();
    for _hour in 0..8 {
        b.ex().advance_time(Duration::from_secs(3600));
        let mut still = vec![];
        for j in waiting {
            let (lookups, c, id) = report(b, j);
            if lookups {
                expired.push((c, id));
            } else {
                still.push(j);
            }
        }
        waiting = still;
        if waiting.is_empty() {
            break;
        }
    }
    let image = Image::of(&b.env.ex, ledger);
    let read = |list: Vec<(Call, u64)>| -> Vec<Sample> {
        list.into_iter().map(|(call, id)| Sample { stored: vec![stored(image.value(mem::LEDGER_BURNS, &id), "burn record")], call }).collect()
    };
    let (fresh, expired) = (read(fresh), read(expired));
    drop(image);
    let mut out = vec![];
    for (samples, label, hot) in [(fresh, "report_usage (attribution cache fresh)", true), (expired, "report_usage (cache expired: 2 lookups)", false)] {
        if samples.is_empty() {
            continue;
        }
        let fill = [("burns", b.p.reports, samples[0].stored[0].len(), 1)];
        out.push(figure(b, "burn_ledger", label, "report_usage", &samples, &fill, hot));
    }
    out
}
