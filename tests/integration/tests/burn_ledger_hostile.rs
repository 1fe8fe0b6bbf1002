//! Hostile cases against `burn_ledger` on its real wasm (executor only: they read stable memory
//! and step messages one at a time). Each test is one defect of issue 12 and fails on the wasm
//! before its fix; every refusal is checked to leave stable memory (audit log included)
//! unchanged. Cases are tallied under "burn_ledger".

use candid::{encode_args, encode_one, Nat};
use ic_executor::MessageId;
use interfaces::audit::PageRequest;
use interfaces::burn_ledger::*;
use std::collections::BTreeMap;
use std::time::Duration;
use suite_tests::hostile::{stable_digest, Hostile};
use suite_tests::scenarios::burn_ledger::*;
use suite_tests::*;

const STRANGER: Principal = Principal::from_slice(&[0xb1, 0xff, 0x02]);
const S: u64 = 1_000_000_000;
const H: u64 = 3600 * S;
const WEEK: u64 = 7 * 24 * 3600;

/// The canister's whole stable memory: the bytes `stable_digest` hashes, compared here byte for
/// byte (hashing the ledger's 100+ MB in a debug build takes seconds per call; comparing takes
/// milliseconds). Each test also checks `stable_digest` around its first refusal.
fn stable_bytes(env: &mut ExecutorEnv, canister: Principal) -> Vec<u8> {
    let pages = env.ex.stable_size_pages(canister);
    env.ex.stable_read(canister, 0, (pages * 65_536) as usize)
}

/// Calls `f` and records whether `held(result)` and stable memory stayed the same.
fn refused<T: std::fmt::Debug>(
    h: &mut Hostile,
    env: &mut ExecutorEnv,
    ledger: Principal,
    case: &str,
    f: impl FnOnce(&mut ExecutorEnv) -> T,
    held: impl FnOnce(&T) -> bool,
) {
    let before = stable_bytes(env, ledger);
    let result = f(env);
    let ok = held(&result);
    h.check(case, ok, &result);
    let same = stable_bytes(env, ledger) == before;
    h.check(&format!("{case}: stable memory unchanged"), same, "stable memory changed");
}

/// [`refused`], checked with `stable_digest` as well.
fn refused_digest<T: std::fmt::Debug>(
    h: &mut Hostile,
    env: &mut ExecutorEnv,
    ledger: Principal,
    case: &str,
    f: impl FnOnce(&mut ExecutorEnv) -> T,
    held: impl FnOnce(&T) -> bool,
) {
    let before = stable_digest(env, ledger).expect("executor backend");
    refused(h, env, ledger, case, f, held);
    h.expect_eq(&format!("{case}: stable_digest unchanged"), stable_digest(env, ledger).expect("executor backend"), before);
}

fn raw_update<R: candid::CandidType + serde::de::DeserializeOwned>(env: &mut ExecutorEnv, ledger: Principal, sender: Principal, method: &str, arg: Vec<u8>) -> Result<R, Reject> {
    env.update_raw(ledger, sender, method, arg).map(|bytes| candid::decode_one(&bytes).expect("reply decodes"))
}

/// The fixture's `call_raw` error.
#[derive(candid::CandidType, serde::Deserialize, Debug)]
struct RelayError {
    code: u32,
    message: String,
}

/// `arg` sent to the ledger's `method` by the canister `relay` (an inter-canister call: no
/// inspect_message on the way).
fn relayed<R: candid::CandidType + serde::de::DeserializeOwned>(env: &mut ExecutorEnv, relay: Principal, ledger: Principal, method: &str, arg: Vec<u8>) -> Result<R, String> {
    let r: Result<Vec<u8>, RelayError> = update1(env, relay, STRANGER, "call_raw", (ledger, method, arg));
    r.map(|bytes| candid::decode_one(&bytes).expect("ledger reply decodes")).map_err(|e| format!("{e:?}"))
}

/// Moves the clock to the next hour boundary.
fn align_to_hour(env: &mut ExecutorEnv) -> u64 {
    let now = env.now_ns();
    env.advance_time(Duration::from_nanos(H - now % H));
    env.now_ns()
}

fn burn_rate(env: &mut ExecutorEnv, ledger: Principal, window: u64) -> Result<BurnRate, BurnError> {
    query1(env, ledger, STRANGER, "burn_rate", (window,))
}

fn series(env: &mut ExecutorEnv, ledger: Principal, scope: Scope, granularity: Granularity, from_ns: u64, limit: Option<u32>) -> Vec<Bucket> {
    let r: Result<Vec<Bucket>, BurnError> =
        query1(env, ledger, STRANGER, "series", (SeriesRequest { scope, granularity, from_ns, to_ns: u64::MAX, limit },));
    r.expect("series")
}

/// Defect 1: a report covering a long period used to land entirely in the hour its period
/// ended, so the last hour's rate was 24× (31×) too high.
#[test]
fn long_reports_are_spread_over_their_period() {
    let mut env = ExecutorEnv::new();
    let archive = env.create_canister(); // a peer that reports half a year at once, in 31-day reports
    let s = deploy_burn_suite(&mut env, Some(WEEK), |a| a.reporters.push(archive));
    let ledger = s.ledger;
    let mut h = Hostile::new("burn_ledger", "long_reports_are_spread_over_their_period");
    set_rate(&mut env, ledger, XDR_PERMYRIAD_PER_ICP);
    env.advance_time(Duration::from_secs(40 * 24 * 3600));
    let now = env.now_ns();

    // One day of 1,000,003 cycles a second, reported at once by a peer.
    let day: u128 = 86_400 * 1_000_003;
    report_usage(&mut env, ledger, s.messaging, usage(1, now - 24 * H, now, day)).expect("day report");
    let rate = burn_rate(&mut env, ledger, 3600).expect("burn_rate");
    h.expect_eq("24 h report: the hour window", rate.window_seconds, 3600);
    h.check("24 h report: the last hour holds 1/24 of it (±2 cycles)", rate.cycles_in_window.abs_diff(day / 24) <= 2, rate);
    let meter: Result<Mission70Meter, BurnError> = query1(&mut env, ledger, STRANGER, "mission70_meter", (Some(3600u64),));
    h.expect_eq("24 h report: the meter uses the same rate", meter.map(|m| m.burn_rate), Ok(rate));
    let day_rate = burn_rate(&mut env, ledger, 86_400).expect("burn_rate");
    h.expect_eq("24 h report: the day window holds all of it", day_rate.cycles_in_window, day);
    let hours = series(&mut env, ledger, Scope::Canister(s.messaging), Granularity::Hour, 0, None);
    h.check("24 h report: 24 or 25 hourly buckets", (24..=25).contains(&hours.len()), hours.len());
    h.expect_eq("24 h report: hourly parts add up exactly", hours.iter().map(|b| b.amounts.cycles).sum::<u128>(), day);
    h.check("24 h report: no hour holds more than its share", hours.iter().all(|b| b.amounts.cycles <= day / 24 + 1), &hours);
    h.expect_eq("24 h report: counted once", hours.iter().map(|b| b.amounts.reports).sum::<u64>(), 1);
    let icp: u128 = hours.iter().map(|b| b.amounts.icp_e8s).sum();
    h.expect_eq("24 h report: hourly ICP adds up to the burn's", icp, totals(&mut env, ledger, Scope::Canister(s.messaging)).icp_e8s);
    let days = series(&mut env, ledger, Scope::Suite, Granularity::Day, 0, None);
    h.expect_eq("24 h report: daily buckets add up exactly", days.iter().map(|b| b.amounts.cycles).sum::<u128>(), day);

    // 31 days at once from the issuer: 1/744 of it in the last hour; measured cost stays bounded.
    let month: u128 = 31 * 86_400 * 7_777;
    let arg = encode_one(usage(1, now - 31 * 24 * H, now, month)).unwrap();
    let outcome = env.ex.update_with_stats(ledger, s.licensing.issuer, "report_usage", arg);
    let receipt: Result<ReportReceipt, BurnError> = candid::decode_one(&outcome.result.expect("accepted")).unwrap();
    h.check("31-day report accepted", receipt.is_ok(), &receipt);
    eprintln!("a 31-day report costs {} instructions in its first message", outcome.instructions);
    h.check("31-day report: under 2 billion instructions", outcome.instructions < 2_000_000_000, outcome.instructions);
    let rate = burn_rate(&mut env, ledger, 3600).expect("burn_rate");
    let expected = day / 24 + month / 744;
    h.check("31-day report: the last hour holds 1/744 of it (±4 cycles)", rate.cycles_in_window.abs_diff(expected) <= 4, (rate, expected));
    let month_rate = burn_rate(&mut env, ledger, 31 * 86_400).expect("burn_rate");
    h.expect_eq("31-day window holds both reports", month_rate.cycles_in_window, day + month);
    let hours = series(&mut env, ledger, Scope::Canister(s.licensing.issuer), Granularity::Hour, 0, Some(500));
    let rest = series(&mut env, ledger, Scope::Canister(s.licensing.issuer), Granularity::Hour, hours.last().unwrap().start_ns + 1, Some(500));
    h.check("31-day report: 744 or 745 hourly buckets", (744..=745).contains(&(hours.len() + rest.len())), hours.len() + rest.len());
    h.expect_eq("31-day report: hourly parts add up exactly", hours.iter().chain(&rest).map(|b| b.amounts.cycles).sum::<u128>(), month);

    // Six 31-day reports recorded while the registry is down, then attributed by one retry: no
    // message of the ledger comes near the instruction limit (the hour budget bounds each).
    env.ex.inject_fault(s.licensing.registry, "placement_of", Fault::Reject("registry down".into()));
    let first_execution = env.ex.executions().len();
    for i in 0..6u64 {
        let end = now - (5 - i) * 31 * 24 * H;
        let r = report_usage(&mut env, ledger, archive, usage(i + 1, end - 31 * 24 * H, end, 31 * 86_400));
        h.check(&format!("archive report {i} recorded unattributed"), r.as_ref().is_ok_and(|r| !r.attributed), &r);
    }
    env.ex.clear_faults();
    // 744 or 745 hours each: a run stops after the burn that passes 3,000 hours, the next one
    // takes the rest.
    let r: Result<u64, BurnError> = update1(&mut env, ledger, ledger_authority(), "retry_attribution", ());
    h.expect_eq("the first retry attributes five of the six (hour budget)", r, Ok(5));
    let r: Result<u64, BurnError> = update1(&mut env, ledger, ledger_authority(), "retry_attribution", ());
    h.expect_eq("the second retry attributes the last", r, Ok(1));
    h.expect_eq("nothing left unattributed", totals(&mut env, ledger, Scope::Unattributed).cycles, 0);
    let heaviest = env.ex.executions()[first_execution..].iter().filter(|e| e.canister == ledger).map(|e| e.instructions).max().unwrap_or(0);
    eprintln!("heaviest ledger message while recording and attributing 6 × 31 days: {heaviest} instructions");
    h.check("every message under 2.5 billion instructions", heaviest < 2_500_000_000, heaviest);

    // Longer than 31 days: refused, nothing written.
    let too_long = usage(2, now - 31 * 24 * H - S, now, 1);
    refused_digest(&mut h, &mut env, ledger, "32-day period refused", |env| report_usage(env, ledger, s.messaging, too_long), |r| {
        matches!(r, Err(BurnError::PeriodTooLong { max_seconds: 2_678_400, .. }))
    });
    h.finish();
}

/// Defect 2: `burn_rate(window)` used to start at the hour the window starts in (a 3600 s
/// window at half past covered 5400 s).
#[test]
fn burn_rate_honours_the_window_asked_for() {
    let mut env = ExecutorEnv::new();
    let s = deploy_burn_suite(&mut env, Some(WEEK), |_| {});
    let ledger = s.ledger;
    let mut h = Hostile::new("burn_ledger", "burn_rate_honours_the_window_asked_for");
    let t0 = align_to_hour(&mut env);
    // 1,000 cycles a second for ten hours, reported hourly.
    for i in 0..10u64 {
        env.advance_time(Duration::from_secs(3600));
        report_usage(&mut env, ledger, s.messaging, usage(i + 1, t0 + i * H, t0 + (i + 1) * H, 3_600_000)).expect("hourly report");
    }
    env.advance_time(Duration::from_secs(1800)); // 10:30, nothing reported since 10:00
    let cases: [(u64, u128); 5] = [
        (3600, 1_800_000),           // [9:30, 10:30): half of hour 9
        (5400, 3_600_000),           // [9:00, 10:30): hour 9
        (7200 + 17, 5_417_000),      // [8:29:43, 10:30): 1,817 s of hour 8 and hour 9
        (3 * 3600 + 1800, 10_800_000), // [7:00, 10:30)
        (31 * 86_400, 36_000_000),   // shortened to the 10.5 hours since the first period
    ];
    for (window, cycles) in cases {
        let r = burn_rate(&mut env, ledger, window).expect("burn_rate");
        let effective = window.min(10 * 3600 + 1800);
        h.expect_eq(&format!("window {window}: seconds"), r.window_seconds, effective);
        h.expect_eq(&format!("window {window}: cycles"), r.cycles_in_window, cycles);
        h.expect_eq(&format!("window {window}: cycles per second"), r.cycles_per_second, cycles / effective as u128);
    }
    let m: Result<Mission70Meter, BurnError> = query1(&mut env, ledger, STRANGER, "mission70_meter", (Some(3600u64),));
    h.expect_eq("meter over 3600 s", m.map(|m| (m.burn_rate.window_seconds, m.burn_rate.cycles_in_window)), Ok((3600, 1_800_000)));
    for window in [0u64, 3599, 31 * 86_400 + 1, u64::MAX] {
        let r = burn_rate(&mut env, ledger, window);
        h.check(&format!("window {window} refused"), matches!(r, Err(BurnError::ArgumentOutOfRange { .. })), r);
    }
    h.finish();
}

/// Defect 3: a `nat` beyond 128 bits used to trap in decoding; now a typed error, nothing
/// changes, also when the argument arrives from another canister (no inspect_message).
#[test]
fn oversized_nats_get_a_typed_error() {
    let mut env = ExecutorEnv::new();
    let relay = deploy(&mut env, &fixture_wasm(), ());
    let s = deploy_burn_suite(&mut env, Some(WEEK), |a| a.reporters.push(relay));
    let ledger = s.ledger;
    let mut h = Hostile::new("burn_ledger", "oversized_nats_get_a_typed_error");
    let now = env.now_ns();
    let two_128: Nat = "340282366920938463463374607431768211456".parse().unwrap();
    let huge: Nat = format!("1{}", "0".repeat(300)).parse().unwrap();
    for (name, value) in [("2^128", two_128.clone()), ("10^300", huge.clone())] {
        let bits = value.0.bits();
        let mut arg = UsageReportArg::from(usage(1, now - H, now, 0));
        arg.cycles_consumed = value.clone();
        let bytes = encode_one(&arg).unwrap();
        let expected = Err(BurnError::ValueTooLarge { field: "cycles_consumed".into(), bits });
        refused(&mut h, &mut env, ledger, &format!("report of {name} cycles (ingress)"), |env| {
            raw_update::<Result<ReportReceipt, BurnError>>(env, ledger, s.messaging, "report_usage", bytes.clone())
        }, |r| r.as_ref().ok() == Some(&expected));
        refused(&mut h, &mut env, ledger, &format!("report of {name} cycles (from a canister)"), |env| {
            relayed::<Result<ReportReceipt, BurnError>>(env, relay, ledger, "report_usage", bytes.clone())
        }, |r| r.as_ref().ok() == Some(&expected));
        let model = IssuanceModelArg { annual_gross_minting_bps: 972, target_net_inflation_bps: 542, total_supply_e8s: value };
        refused(&mut h, &mut env, ledger, &format!("issuance model with {name} e8s"), |env| {
            raw_update::<Result<(), BurnError>>(env, ledger, ledger_authority(), "set_issuance_model", encode_one(&model).unwrap())
        }, |r| r.as_ref().ok() == Some(&Err(BurnError::ValueTooLarge { field: "total_supply_e8s".into(), bits })));
    }
    // 2^128 − 1 fits: it reaches the range checks and gets their typed errors.
    refused_digest(&mut h, &mut env, ledger, "report of 2^128 - 1 cycles", |env| report_usage(env, ledger, s.messaging, usage(1, now - H, now, u128::MAX)), |r| {
        matches!(r, Err(BurnError::CyclesOutOfBounds { cycles: u128::MAX, .. }))
    });
    let model = IssuanceModel { annual_gross_minting_bps: 972, target_net_inflation_bps: 542, total_supply_e8s: u128::MAX };
    refused(&mut h, &mut env, ledger, "issuance model with 2^128 - 1 e8s", |env| {
        raw_update::<Result<(), BurnError>>(env, ledger, ledger_authority(), "set_issuance_model", encode_one(model).unwrap())
    }, |r| matches!(r, Ok(Err(BurnError::ModelOutOfRange { .. }))));
    // The same reports with sane values go through.
    h.check("a sane report still records", report_usage(&mut env, ledger, s.messaging, usage(1, now - H, now, 5)).is_ok(), ());
    let ok = relayed::<Result<ReportReceipt, BurnError>>(&mut env, relay, ledger, "report_usage", encode_one(usage(1, now - H, now, 5)).unwrap());
    h.check("a sane report from a canister still records", matches!(ok, Ok(Ok(_))), ok);
    h.finish();
}

/// Defect 4 (low): rounded figures made report lines not add up to their totals; `limit = 0`,
/// a cursor of the wrong family, and every list reply at its worst case.
#[test]
fn report_lines_add_up_and_pages_stay_bounded() {
    let mut env = ExecutorEnv::new();
    let s = deploy_burn_suite(&mut env, Some(WEEK), |_| {});
    let ledger = s.ledger;
    let mut h = Hostile::new("burn_ledger", "report_lines_add_up_and_pages_stay_bounded");
    set_rate(&mut env, ledger, XDR_PERMYRIAD_PER_ICP);
    // Peers 1,500,000 cycles, the app 1,500,001: rounded line by line, XDR gave 1 + 1 of 3
    // micro-XDR and the shares 4,999 + 5,000 of 10,000 bps.
    report_one_hour(&mut env, ledger, &[(s.licensing.registry, 750_000), (s.licensing.issuer, 750_000), (s.app, 1_500_001)]);
    let c = checkpoint(&mut env, ledger);
    for (name, lines) in [("per subnet", &c.per_subnet), ("per program", &c.per_program)] {
        let sum = |f: fn(&CheckpointLine) -> u128| lines.iter().map(f).sum::<u128>();
        h.expect_eq(&format!("{name}: cycles add up"), sum(|l| l.amounts.cycles), c.suite.cycles);
        h.expect_eq(&format!("{name}: micro-XDR add up"), sum(|l| l.amounts.micro_xdr), c.suite.micro_xdr);
        h.expect_eq(&format!("{name}: ICP e8s add up"), sum(|l| l.amounts.icp_e8s), c.suite.icp_e8s);
        h.expect_eq(&format!("{name}: reports add up"), sum(|l| l.amounts.reports as u128), c.suite.reports as u128);
        h.expect_eq(&format!("{name}: shares add up to 10,000 bps"), sum(|l| l.share_of_suite_bps), 10_000);
    }

    // limit = 0 gives an empty page (never a page that claims more); a cursor of another family
    // is refused instead of answering an empty page that looks like the end.
    let zero = PageRequest { start: None, limit: Some(0) };
    let burns: BurnPage = query1(&mut env, ledger, STRANGER, "list_burns", (zero.clone(),));
    h.expect_eq("list_burns limit 0", (burns.burns.len(), burns.total), (0, 3));
    let gaps: Vec<SequenceGap> = query1(&mut env, ledger, STRANGER, "gaps", (s.messaging, zero.clone()));
    h.expect_eq("gaps limit 0", gaps.len(), 0);
    h.expect_eq("series limit 0", series(&mut env, ledger, Scope::Suite, Granularity::Hour, 0, Some(0)).len(), 0);
    let list = |env: &mut ExecutorEnv, kind, after, limit| -> Result<Vec<ScopeTotals>, BurnError> {
        query1(env, ledger, STRANGER, "list_totals", (ListTotalsRequest { kind, after, limit },))
    };
    h.expect_eq("list_totals limit 0", list(&mut env, ScopeKind::Canister, None, Some(0)).map(|v| v.len()), Ok(0));
    h.expect_eq("list_totals limit 1", list(&mut env, ScopeKind::Canister, None, Some(1)).map(|v| v.len()), Ok(1));
    for (kind, after) in [(ScopeKind::Program, Scope::Canister(s.app)), (ScopeKind::Canister, Scope::Subnet(s.licensing.live_subnet)), (ScopeKind::Subnet, Scope::Suite), (ScopeKind::Canister, Scope::Others)] {
        h.expect_eq(&format!("list_totals {kind:?} after {after:?}"), list(&mut env, kind, Some(after), None), Err(BurnError::ScopeNotOfKind { after, kind }));
    }

    // Worst case: the app sends 600 reports with every detail at its maximum, skipping every
    // other sequence (600 gaps); messaging (no report yet) covers 600 past hours. Every page stays far under the
    // IC's 2 MiB reply limit and paging reaches every item exactly once.
    let now = env.now_ns();
    let info = reporter_info(&mut env, ledger, s.app).unwrap();
    let mut start = info.last_period_end_ns;
    let mut seq = info.last_sequence;
    for i in 0..600u64 {
        seq += 2;
        let end = start + 1 + (i % 3);
        let r = UsageReport { instructions: Some(u64::MAX), bytes_stored: Some(u64::MAX), messages_handled: Some(u64::MAX), ..usage(seq, start, end, 1_000 + i as u128) };
        report_usage(&mut env, ledger, s.app, r).unwrap_or_else(|e| panic!("worst-case report {i}: {e:?}"));
        start = end;
    }
    for i in 0..600u64 {
        let end = now - 30 * 24 * H + (i + 1) * H;
        report_usage(&mut env, ledger, s.messaging, usage(1 + i, end - H, end, 3_600 + i as u128)).expect("hourly");
    }
    let mut ids = Vec::new();
    let mut page_start = 0u64;
    loop {
        let bytes = env.query_raw(ledger, STRANGER, "list_burns", encode_one(PageRequest { start: Some(page_start), limit: None }).unwrap()).unwrap();
        let page: BurnPage = candid::decode_one(&bytes).unwrap();
        if page_start == 0 {
            h.expect_eq("list_burns: a full page holds 500", page.burns.len(), 500);
            h.check("list_burns: a full page is under 1 MB", bytes.len() < 1_000_000, bytes.len());
        }
        if page.burns.is_empty() {
            break;
        }
        page_start += page.burns.len() as u64;
        ids.extend(page.burns.iter().map(|b| b.burn_id));
    }
    let total: BurnPage = query1(&mut env, ledger, STRANGER, "list_burns", (zero,));
    h.expect_eq("list_burns: paging reaches every burn once", ids, (0..total.total).collect::<Vec<_>>());
    let mut gaps_seen = 0usize;
    let mut from = 0u64;
    loop {
        let bytes = env.query_raw(ledger, STRANGER, "gaps", encode_args((s.app, PageRequest { start: Some(from), limit: None })).unwrap()).unwrap();
        let page: Vec<SequenceGap> = candid::decode_one(&bytes).unwrap();
        if from == 0 {
            h.expect_eq("gaps: a full page holds 500", page.len(), 500);
            h.check("gaps: a full page is under 1 MB", bytes.len() < 1_000_000, bytes.len());
        }
        let Some(last) = page.last() else { break };
        from = last.first + 1;
        gaps_seen += page.len();
    }
    h.expect_eq("gaps: paging reaches every gap once", gaps_seen as u64, reporter_info(&mut env, ledger, s.app).unwrap().gaps);
    let mut buckets = Vec::new();
    let mut from_ns = 0u64;
    loop {
        let arg = encode_one(SeriesRequest { scope: Scope::Canister(s.messaging), granularity: Granularity::Hour, from_ns, to_ns: u64::MAX, limit: None }).unwrap();
        let bytes = env.query_raw(ledger, STRANGER, "series", arg).unwrap();
        let page: Result<Vec<Bucket>, BurnError> = candid::decode_one(&bytes).unwrap();
        let page = page.unwrap();
        if from_ns == 0 {
            h.expect_eq("series: a full page holds 500", page.len(), 500);
            h.check("series: a full page is under 1 MB", bytes.len() < 1_000_000, bytes.len());
        }
        let Some(last) = page.last() else { break };
        from_ns = last.start_ns + 1;
        buckets.extend(page);
    }
    h.expect_eq("series: paging reaches every bucket once", buckets.iter().map(|b| b.amounts.cycles).sum::<u128>(), totals(&mut env, ledger, Scope::Canister(s.messaging)).cycles);
    let c = checkpoint(&mut env, ledger);
    h.expect_eq("checkpoint still adds up", c.per_subnet.iter().map(|l| l.amounts.cycles).sum::<u128>(), c.suite.cycles);
    h.finish();
}

/// What the reporters meant to record: the state every interleaving must end in.
#[derive(Default)]
struct Model {
    next: BTreeMap<Principal, u64>,
    last_end: BTreeMap<Principal, u64>,
    cycles: BTreeMap<Principal, u128>,
    reports: BTreeMap<Principal, u64>,
}

impl Model {
    /// `who`'s next report, ending at `end`.
    fn report(&self, who: Principal, end: u64, cycles: u128) -> UsageReport {
        let start = self.last_end.get(&who).copied().unwrap_or(end - H);
        usage(self.next.get(&who).copied().unwrap_or(1), start, end, cycles)
    }

    fn accepted(&mut self, who: Principal, r: &UsageReport) {
        self.next.insert(who, r.sequence + 1);
        self.last_end.insert(who, r.period_end_ns);
        *self.cycles.entry(who).or_default() += r.cycles_consumed;
        *self.reports.entry(who).or_default() += 1;
    }

    fn total(&self) -> u128 {
        self.cycles.values().sum()
    }
}

fn submit(env: &mut ExecutorEnv, ledger: Principal, sender: Principal, method: &str, arg: Vec<u8>) -> MessageId {
    env.ex.submit_update(ledger, sender, method, arg)
}

fn report_result(env: &ExecutorEnv, msg: MessageId) -> Result<ReportReceipt, BurnError> {
    let bytes = env.ex.ingress_result(msg).expect("answered").expect("not rejected");
    candid::decode_one(&bytes).expect("decodes")
}

/// As a reporter's client does: resend while the ledger says "later".
fn settle(env: &mut ExecutorEnv, ledger: Principal, who: Principal, r: &UsageReport) -> Result<ReportReceipt, BurnError> {
    let mut last = Err(BurnError::AlreadyInProgress { what: "not sent".into() });
    for _ in 0..3 {
        last = report_usage(env, ledger, who, r.clone());
        if !matches!(last, Err(BurnError::AlreadyInProgress { .. } | BurnError::ReporterCheckUnavailable { .. })) {
            break;
        }
    }
    last
}

#[derive(Clone, Copy, Debug)]
enum Conflict {
    /// The same report again (a client that timed out).
    Retry,
    /// The reporter's next sequence.
    NextSequence,
    /// A report from another reporter.
    OtherReporter,
    /// An authority's attribution retry (awaits the same lookups).
    AttributionRetry,
}

/// Defect 5: a second conflicting call delivered at every await point of `report_usage` (the
/// license_issuer admission check, then the registry/issuer attribution lookups). No report is
/// lost, none is counted twice, no gap appears.
#[test]
fn conflicting_calls_at_every_await_point() {
    let mut env = ExecutorEnv::new();
    // Lookups expire after 60 s, so every round starts with the app unknown to the caches.
    let s = deploy_burn_suite(&mut env, Some(WEEK), |a| a.attribution_cache_ttl_seconds = Some(60));
    let (ledger, app, other) = (s.ledger, s.app, s.messaging);
    let mut h = Hostile::new("burn_ledger", "conflicting_calls_at_every_await_point");
    let mut model = Model::default();

    // Alone, one report of an app unknown to the caches takes these steps.
    env.advance_time(Duration::from_secs(61));
    let r = model.report(app, env.now_ns(), 1_000);
    let msg = submit(&mut env, ledger, app, "report_usage", encode_one(&r).unwrap());
    let mut steps = Vec::new();
    while env.ex.ingress_result(msg).is_none() {
        steps.push(env.ex.step().expect("progress"));
    }
    h.check("alone: recorded and attributed", report_result(&env, msg).is_ok_and(|r| r.attributed), report_result(&env, msg));
    model.accepted(app, &r);
    eprintln!("one report of an app unknown to the caches: {steps:?}");
    h.check("the report awaits at least two calls (admission, attribution)", steps.len() >= 5, &steps);

    let mut round = 0u128;
    for k in 1..steps.len() {
        for conflict in [Conflict::Retry, Conflict::NextSequence, Conflict::OtherReporter, Conflict::AttributionRetry] {
            round += 1;
            let case = format!("after step {k} ({:?}), {conflict:?}", steps[k - 1]);
            env.advance_time(Duration::from_secs(61));
            let now = env.now_ns();
            let r1 = model.report(app, now - 30 * S, 1_000 + round);
            let m1 = submit(&mut env, ledger, app, "report_usage", encode_one(&r1).unwrap());
            for _ in 0..k {
                env.ex.step();
            }
            let second = match conflict {
                Conflict::Retry => Some((app, r1.clone())),
                Conflict::NextSequence => {
                    let mut after = Model::default();
                    after.accepted(app, &r1);
                    let mut r2 = after.report(app, now, 7 + round);
                    r2.sequence = r1.sequence + 1;
                    Some((app, r2))
                }
                Conflict::OtherReporter => Some((other, model.report(other, now, 11 + round))),
                Conflict::AttributionRetry => None,
            };
            let mc = match &second {
                Some((who, r)) => submit(&mut env, ledger, *who, "report_usage", encode_one(r).unwrap()),
                None => submit(&mut env, ledger, ledger_authority(), "retry_attribution", encode_args(()).unwrap()),
            };
            env.ex.run_until_idle();
            let first = report_result(&env, m1);
            h.check(&format!("{case}: the first report is recorded, once"), first.as_ref().is_ok_and(|r| !r.duplicate), &first);
            model.accepted(app, &r1);
            if let Some((who, r)) = second {
                let answer = report_result(&env, mc);
                let held = match conflict {
                    Conflict::Retry => matches!(answer, Ok(ReportReceipt { duplicate: true, .. }) | Err(BurnError::AlreadyInProgress { .. })),
                    _ => matches!(answer, Ok(ReportReceipt { duplicate: false, gap: None, .. }) | Err(BurnError::AlreadyInProgress { .. })),
                };
                h.check(&format!("{case}: the second call is recorded or told to come back"), held, &answer);
                let settled = settle(&mut env, ledger, who, &r);
                h.check(&format!("{case}: resent, it is acknowledged"), settled.as_ref().is_ok_and(|r| r.gap.is_none()), &settled);
                if !matches!(conflict, Conflict::Retry) {
                    model.accepted(who, &r);
                }
            } else {
                let bytes = env.ex.ingress_result(mc).expect("answered").expect("not rejected");
                let answer: Result<u64, BurnError> = candid::decode_one(&bytes).unwrap();
                h.check(&format!("{case}: the attribution retry answers"), answer.is_ok(), answer);
            }
            let suite = totals(&mut env, ledger, Scope::Suite);
            h.expect_eq(&format!("{case}: suite cycles = what was meant"), suite.cycles, model.total());
            h.expect_eq(&format!("{case}: suite reports = what was meant"), suite.reports, model.reports.values().sum::<u64>());
            for who in [app, other] {
                let info = reporter_info(&mut env, ledger, who);
                let expected = model.next.get(&who).map(|n| (n - 1, 0));
                h.expect_eq(&format!("{case}: {who} last sequence, no gap"), info.map(|i| (i.last_sequence, i.missing_sequences)), expected);
            }
        }
    }
    // Whatever the interleavings left pending, the retry attributes, each burn exactly once.
    let r: Result<u64, BurnError> = update1(&mut env, ledger, ledger_authority(), "retry_attribution", ());
    h.check("final retry runs", r.is_ok(), r);
    h.expect_eq("nothing left unattributed", totals(&mut env, ledger, Scope::Unattributed).cycles, 0);
    h.expect_eq("the app's program holds exactly its reports", totals(&mut env, ledger, Scope::Program(s.program_id)).cycles, model.cycles[&app]);
    h.expect_eq("its subnet too", totals(&mut env, ledger, Scope::Subnet(s.licensing.live_subnet)).cycles, model.cycles[&app]);
    h.finish();
}

/// Defect 5, the case that lost a report: while an app's report waits for license_issuer, its
/// next report arrives; license_issuer fails the first check. Before, the next report was
/// recorded, leaving the first as a gap it could never fill (its resend was refused).
#[test]
fn a_later_report_never_overtakes_one_awaiting_admission() {
    let mut env = ExecutorEnv::new();
    let s = deploy_burn_suite(&mut env, Some(WEEK), |_| {});
    let (ledger, app, issuer) = (s.ledger, s.app, s.licensing.issuer);
    let mut h = Hostile::new("burn_ledger", "a_later_report_never_overtakes_one_awaiting_admission");
    let now = env.now_ns();
    let r1 = usage(1, now - 2 * H, now - H, 100);
    let r2 = usage(2, now - H, now, 200);
    let m1 = submit(&mut env, ledger, app, "report_usage", encode_one(&r1).unwrap());
    env.ex.step(); // the ledger asks license_issuer about the app
    let m2 = submit(&mut env, ledger, app, "report_usage", encode_one(&r2).unwrap());
    env.ex.inject_fault(issuer, "app_owner", Fault::Reject("issuer busy".into()));
    env.ex.step(); // license_issuer fails the first check
    env.ex.clear_faults();
    env.ex.run_until_idle();
    let first = report_result(&env, m1);
    h.check("first: license_issuer unavailable, resend later", matches!(first, Err(BurnError::ReporterCheckUnavailable { .. })), &first);
    let second = report_result(&env, m2);
    h.check("second: told to come back, not recorded ahead", matches!(second, Err(BurnError::AlreadyInProgress { .. })), &second);
    let first = settle(&mut env, ledger, app, &r1);
    h.check("first resent: recorded", first.as_ref().is_ok_and(|r| !r.duplicate && r.gap.is_none()), &first);
    let second = settle(&mut env, ledger, app, &r2);
    h.check("second resent: recorded", second.as_ref().is_ok_and(|r| !r.duplicate && r.gap.is_none()), &second);
    let info = reporter_info(&mut env, ledger, app).unwrap();
    h.expect_eq("both counted, no gap", (info.last_sequence, info.reports, info.missing_sequences), (2, 2, 0));
    h.expect_eq("cycles counted once each", totals(&mut env, ledger, Scope::Canister(app)).cycles, 300);
    h.finish();
}

/// Defect 7: `inspect_message` turns away anonymous and oversized ingress and non-authorities on
/// authority updates; the endpoints check the same for calls from canisters (which
/// inspect_message never sees), and inter-canister reports still work.
#[test]
fn early_rejection_and_the_endpoints_behind_it() {
    let mut env = ExecutorEnv::new();
    let relay = deploy(&mut env, &fixture_wasm(), ());
    let stranger_canister = deploy(&mut env, &fixture_wasm(), ());
    let s = deploy_burn_suite(&mut env, Some(WEEK), |a| a.reporters.push(relay));
    let ledger = s.ledger;
    let mut h = Hostile::new("burn_ledger", "early_rejection_and_the_endpoints_behind_it");
    let now = env.now_ns();
    let report = usage(1, now - H, now, 42);
    let rate = ConversionRate { xdr_permyriad_per_icp: 35_000, timestamp_seconds: now / S };
    let model = IssuanceModel { annual_gross_minting_bps: 972, target_net_inflation_bps: 542, total_supply_e8s: 1 };
    let rejected = |r: &Result<Vec<u8>, Reject>, why: &str| r.as_ref().is_err_and(|e| e.message.contains(why));

    let ingress: [(&str, Principal, Vec<u8>, &str); 7] = [
        ("anonymous report", Principal::anonymous(), encode_one(&report).unwrap(), "anonymous caller"),
        ("oversized report", s.messaging, encode_args((&report, vec![0u8; 5_000])).unwrap(), "argument too large"),
        ("stranger sets the rate", STRANGER, encode_one(rate).unwrap(), "not an authority"),
        ("peer sets the rate", s.messaging, encode_one(rate).unwrap(), "not an authority"),
        ("anonymous sets the model", Principal::anonymous(), encode_one(model).unwrap(), "not an authority"),
        ("stranger retries attribution", STRANGER, encode_args(()).unwrap(), "not an authority"),
        ("oversized query argument", STRANGER, encode_args((Scope::Suite, vec![0u8; 5_000])).unwrap(), "argument too large"),
    ];
    let methods = ["report_usage", "report_usage", "set_conversion_rate", "set_conversion_rate", "set_issuance_model", "retry_attribution", "totals"];
    for ((case, sender, arg, why), method) in ingress.into_iter().zip(methods) {
        let call = |env: &mut ExecutorEnv| env.update_raw(ledger, sender, method, arg);
        if method == "report_usage" {
            refused_digest(&mut h, &mut env, ledger, &format!("ingress: {case}"), call, |r| rejected(r, why));
        } else {
            refused(&mut h, &mut env, ledger, &format!("ingress: {case}"), call, |r| rejected(r, why));
        }
    }
    // From canisters, inspect_message does not run: the endpoints refuse with typed errors.
    refused(&mut h, &mut env, ledger, "canister: stranger reports", |env| {
        relayed::<Result<ReportReceipt, BurnError>>(env, stranger_canister, ledger, "report_usage", encode_one(&report).unwrap())
    }, |r| r.as_ref().ok() == Some(&Err(BurnError::UnknownReporter { caller: stranger_canister })));
    refused(&mut h, &mut env, ledger, "canister: non-authority sets the rate", |env| {
        relayed::<Result<(), BurnError>>(env, relay, ledger, "set_conversion_rate", encode_one(rate).unwrap())
    }, |r| r.as_ref().ok() == Some(&Err(BurnError::NotAuthority { caller: relay })));
    refused(&mut h, &mut env, ledger, "canister: non-authority retries attribution", |env| {
        relayed::<Result<u64, BurnError>>(env, relay, ledger, "retry_attribution", encode_args(()).unwrap())
    }, |r| r.as_ref().ok() == Some(&Err(BurnError::NotAuthority { caller: relay })));
    refused(&mut h, &mut env, ledger, "canister: a report the ledger cannot decode", |env| {
        relayed::<Result<ReportReceipt, BurnError>>(env, relay, ledger, "report_usage", encode_one("not a report").unwrap())
    }, |r| r.is_err());
    // A configured peer that is a canister reports through an inter-canister call.
    let ok = relayed::<Result<ReportReceipt, BurnError>>(&mut env, relay, ledger, "report_usage", encode_one(&report).unwrap());
    h.check("canister: a peer's report is recorded", matches!(ok, Ok(Ok(ReportReceipt { duplicate: false, .. }))), &ok);
    h.expect_eq("canister: its cycles are counted", totals(&mut env, ledger, Scope::Canister(relay)).cycles, 42);
    // Authorities still pass, by ingress.
    let r: Result<(), BurnError> = update1(&mut env, ledger, ledger_authority(), "set_conversion_rate", (rate,));
    h.expect_eq("ingress: the authority sets the rate", r, Ok(()));
    h.finish();
}
