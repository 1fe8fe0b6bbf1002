//! The hot updates at scale, each next to its baseline: the suite canister is called first, the
//! bytes it stored for the call are read from its stable memory (`stored.rs`), the baseline's
//! map is filled to the same record count, then the baseline gets the same argument bytes from
//! the same caller and stores the same bytes.

use crate::baseline;
use crate::bench::Bench;
use crate::figures::UpdateFigure;
use crate::ids;
use crate::load::{envelope, parties, register_args, HOT};
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

/// A holder that is not among the loaded ones.
const NEW_HOLDER: u64 = 10_000_000;

/// One measured call: its outcome, argument and the cycles all canisters paid for it.
struct Call {
    outcome: CallOutcome,
    arg: Vec<u8>,
    cycles: u128,
}

fn balances(b: &Bench) -> Vec<(Principal, u128)> {
    b.env.ex.canister_ids().into_iter().map(|id| (id, b.env.ex.cycle_balance(id))).collect()
}

fn call(b: &mut Bench, canister: Principal, caller: Principal, method: &str, arg: Vec<u8>) -> Call {
    let before = balances(b);
    let outcome = b.update_stats(canister, caller, method, arg.clone());
    let cycles = before.iter().map(|&(id, was)| was.saturating_sub(b.env.ex.cycle_balance(id))).sum();
    Call { outcome, arg, cycles }
}

fn reply<T: CandidType + DeserializeOwned>(call: &Call, method: &str) -> T {
    let bytes = call.outcome.result.clone().unwrap_or_else(|r| panic!("{method} rejected: {r}"));
    decode_one(&bytes).unwrap_or_else(|e| panic!("decoding the reply of {method}: {e}"))
}

fn figure(canister: &str, label: &str, c: &Call, stored: &[Vec<u8>], baseline: u64, hot: bool) -> UpdateFigure {
    UpdateFigure {
        canister: canister.into(),
        label: label.into(),
        instructions: c.outcome.instructions,
        context_instructions: c.outcome.call_context_instructions,
        tree_instructions: c.outcome.tree_instructions,
        baseline,
        arg_bytes: c.arg.len() as u64,
        stored_bytes: stored.iter().map(|v| v.len() as u64).sum(),
        cycles: c.cycles,
        hot,
    }
}

fn stored(value: Option<Vec<u8>>, what: &str) -> Vec<u8> {
    value.unwrap_or_else(|| panic!("{what}: no stored record found"))
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
    let direct = b.p.conversations[0];
    let members = parties(0).members;
    let env = envelope("measure-direct", Some(&members));
    let send_direct = call(b, m, ids::probe(), "send_message", encode_args((direct, env)).unwrap());
    let direct_seq = reply::<Result<SendReceipt, MessagingError>>(&send_direct, "send_message").expect("direct send").seq;

    let hot = b.p.conversations[HOT as usize];
    let sender = parties(HOT).members[0];
    let env = envelope("measure-group", None);
    let send_group = call(b, m, sender, "send_message", encode_args((hot, env)).unwrap());
    let group_seq = reply::<Result<SendReceipt, MessagingError>>(&send_group, "send_message").expect("group send").seq;

    let new_user = b.p.users;
    let register = call(b, m, ids::user(new_user), "register", encode_args((register_args(new_user),)).unwrap());
    reply::<Result<UserView, MessagingError>>(&register, "register").expect("register");

    let image = Image::of(&b.env.ex, m);
    let direct_value = stored(image.value(mem::MESSAGING_MESSAGES, &(direct, direct_seq)), "direct message");
    let group_value = stored(image.value(mem::MESSAGING_MESSAGES, &(hot, group_seq)), "group message");
    let user_value = stored(image.value(mem::MESSAGING_USERS, &ids::user(new_user)), "user");
    let key_value = stored(image.value(mem::MESSAGING_KEYS, &(ids::user(new_user), 1u32)), "user key");
    drop(image);

    let (messages, conversations) = (b.p.messages + 2, b.p.conversations.len() as u64);
    baseline::fill_to(b, "messages", messages, direct_value.len(), conversations);
    let base_direct = baseline::measure(b, ids::probe(), "send_message", send_direct.arg.clone(), vec![direct_value.clone()]);
    let base_group = baseline::measure(b, sender, "send_message", send_group.arg.clone(), vec![group_value.clone()]);
    let users = b.p.users + 2;
    baseline::fill_to(b, "users", users, user_value.len(), 1);
    baseline::fill_to(b, "handles", users, 0, 1);
    baseline::fill_to(b, "keys", users, key_value.len(), 1);
    let base_register = baseline::measure(b, ids::user(new_user), "register", register.arg.clone(), vec![user_value.clone(), key_value.clone()]);
    vec![
        figure("messaging", "send_message (direct, 2 wrapped keys)", &send_direct, &[direct_value], base_direct, true),
        figure("messaging", "send_message (group key)", &send_group, &[group_value], base_group, true),
        figure("messaging", "register", &register, &[user_value, key_value], base_register, true),
    ]
}

fn licensing(b: &mut Bench) -> Vec<UpdateFigure> {
    let issuer = b.ids().issuer;
    // Every seat is taken at full scale: revoking license 0 frees one in program 0 (unmeasured).
    let revoked: Result<License, LicenseError> =
        b.update::<_, (Result<License, LicenseError>,)>(issuer, ids::manager(0), "revoke_license", (b.p.licenses[0], "benchmark".to_string())).0;
    revoked.expect("revoke_license");
    let holder = ids::holder(NEW_HOLDER);
    let offer = call(b, issuer, ids::manager(0), "offer_license", encode_args((b.p.programs[0], holder)).unwrap());
    let license = reply::<Result<License, LicenseError>>(&offer, "offer_license").expect("offer_license");
    let offered = stored(Image::of(&b.env.ex, issuer).value(mem::ISSUER_LICENSES, &license.id), "offered license");
    let accept = call(b, issuer, holder, "accept_license", encode_args((license.id,)).unwrap());
    reply::<Result<License, LicenseError>>(&accept, "accept_license").expect("accept_license");
    let accepted = stored(Image::of(&b.env.ex, issuer).value(mem::ISSUER_LICENSES, &license.id), "accepted license");

    baseline::fill_to(b, "licenses", license.id, offered.len(), 1);
    let base_offer = baseline::measure(b, ids::manager(0), "offer_license", offer.arg.clone(), vec![offered.clone()]);
    let base_accept = baseline::measure(b, holder, "accept_license", accept.arg.clone(), vec![accepted.clone()]);
    vec![
        figure("license_issuer", "offer_license", &offer, &[offered], base_offer, true),
        figure("license_issuer", "accept_license", &accept, &[accepted], base_accept, true),
    ]
}

fn registry(b: &mut Bench) -> Vec<UpdateFigure> {
    let ids = b.ids();
    let canister = b.env().create_canister();
    let subnet = b.p.subnets[0];
    // Sent as license_issuer, the registry's placement recorder (its `register_app` makes this call).
    let record = call(b, ids.registry, ids.issuer, "record_placement", encode_args((canister, subnet)).unwrap());
    reply::<Result<Placement, RegistryError>>(&record, "record_placement").expect("record_placement");
    let value = stored(Image::of(&b.env.ex, ids.registry).value(mem::REGISTRY_PLACEMENTS, &canister), "placement");
    baseline::fill_to(b, "placements", b.p.apps.len() as u64, value.len(), 1);
    let base = baseline::measure(b, ids.issuer, "record_placement", record.arg.clone(), vec![value.clone()]);
    vec![figure("subnet_registry", "record_placement", &record, &[value], base, true)]
}

/// App `j`'s next hourly report, as `report_usage`'s argument.
fn next_report(b: &mut Bench, j: u64) -> Vec<u8> {
    let now = b.env.ex.time_ns();
    let (seq, last_end) = b.p.app_reports[j as usize];
    let start = if seq == 0 { now - 3_600_000_000_000 } else { last_end };
    let report = bl::usage(seq + 1, start, now, crate::load::app_hour_cycles(j));
    encode_args((UsageReportArg::from(report),)).unwrap()
}

/// A report whose attribution cache entry is fresh (no calls: the hot path), and one that
/// finds it expired (lookups at license_issuer and subnet_registry; with hourly reports and the
/// default 6-hour TTL, one report in six).
fn ledger(b: &mut Bench) -> Vec<UpdateFigure> {
    let ledger = b.ids().ledger;
    let (j, app) = (0u64, b.p.apps[0]);
    let (mut fresh, mut expired) = (None, None);
    for _ in 0..12 {
        b.ex().advance_time(Duration::from_secs(3600));
        let arg = next_report(b, j);
        let c = call(b, ledger, app, "report_usage", arg);
        let receipt = reply::<Result<ReportReceipt, BurnError>>(&c, "report_usage").expect("report_usage");
        let now = b.env.ex.time_ns();
        b.p.app_reports[j as usize] = (b.p.app_reports[j as usize].0 + 1, now);
        let slot = if c.outcome.call_context_instructions == c.outcome.instructions { &mut fresh } else { &mut expired };
        if slot.is_none() {
            *slot = Some((c, receipt.burn_id));
        }
        if fresh.is_some() && expired.is_some() {
            break;
        }
    }
    let image = Image::of(&b.env.ex, ledger);
    let mut out = vec![];
    let mut measured = vec![];
    for (slot, label, hot) in [(fresh, "report_usage (attribution cache fresh)", true), (expired, "report_usage (cache expired: 2 lookups)", false)] {
        if let Some((c, burn_id)) = slot {
            measured.push((c, stored(image.value(mem::LEDGER_BURNS, &burn_id), "burn record"), label, hot));
        }
    }
    drop(image);
    for (c, value, label, hot) in measured {
        baseline::fill_to(b, "burns", b.p.reports, value.len(), 1);
        let base = baseline::measure(b, app, "report_usage", c.arg.clone(), vec![value.clone()]);
        out.push(figure("burn_ledger", label, &c, &[value], base, hot));
    }
    out
}
