//! `burn_ledger` on its real wasm (out/burn_ledger.wasm), beside the real subnet_registry and
//! license_issuer: usage from the three peers and from an app registered through the issuer flows
//! in and is attributed; totals add up; retries are not double counted; a report whose lookup
//! fails is kept and attributed later by the timer; conversion and meter figures match hand
//! computation; an upgrade keeps everything.

use interfaces::audit::{AuditPage, ChainCheck, PageRequest};
use interfaces::burn_ledger::*;
use std::time::Duration;
use suite_tests::scenarios::burn_ledger::*;
use suite_tests::*;

const STRANGER: Principal = Principal::from_slice(&[0xb1, 0xff, 0x01]);

type Suite = BurnSuite;

fn deploy_suite(env: &mut dyn Env, self_report_seconds: Option<u64>) -> Suite {
    deploy_burn_suite(env, self_report_seconds, |_| {})
}

fn burn(env: &mut dyn Env, ledger: Principal, id: u64) -> BurnRecord {
    let r: Result<BurnRecord, BurnError> = query1(env, ledger, STRANGER, "burn", (id,));
    r.unwrap_or_else(|e| panic!("burn {id}: {e:?}"))
}

fn list_totals(env: &mut dyn Env, ledger: Principal, kind: ScopeKind) -> Vec<ScopeTotals> {
    let r: Result<Vec<ScopeTotals>, BurnError> = query1(env, ledger, STRANGER, "list_totals", (ListTotalsRequest { kind, after: None, limit: None },));
    r.unwrap_or_else(|e| panic!("list_totals: {e:?}"))
}

/// Per subnet and per program, the lines add up to the suite (totals and checkpoint).
fn assert_dimensions_add_up(env: &mut dyn Env, ledger: Principal) {
    let suite = totals(env, ledger, Scope::Suite);
    let unattributed = totals(env, ledger, Scope::Unattributed).cycles;
    let subnets: u128 = list_totals(env, ledger, ScopeKind::Subnet).iter().map(|t| t.amounts.cycles).sum::<u128>()
        + totals(env, ledger, Scope::UnknownSubnet).cycles
        + unattributed;
    let programs: u128 = list_totals(env, ledger, ScopeKind::Program).iter().map(|t| t.amounts.cycles).sum::<u128>()
        + totals(env, ledger, Scope::NoProgram).cycles
        + unattributed;
    let canisters: u128 = list_totals(env, ledger, ScopeKind::Canister).iter().map(|t| t.amounts.cycles).sum();
    assert_eq!((subnets, programs, canisters), (suite.cycles, suite.cycles, suite.cycles));
    let c = checkpoint(env, ledger);
    assert_eq!(c.suite, suite);
    assert_eq!(c.per_subnet.iter().map(|l| l.amounts.cycles).sum::<u128>(), suite.cycles);
    assert_eq!(c.per_program.iter().map(|l| l.amounts.cycles).sum::<u128>(), suite.cycles);
}

/// Peers and an app report; all is attributed; retries and refusals change nothing; the ledger
/// reports its own usage on its timer.
fn usage_flows_in_and_adds_up(env: &mut dyn Env) {
    let s = deploy_suite(env, None);
    let (registry, issuer, ledger, app) = (s.licensing.registry, s.licensing.issuer, s.ledger, s.app);
    set_rate(env, ledger, XDR_PERMYRIAD_PER_ICP);

    let receipts = report_one_hour(
        env,
        ledger,
        &[(registry, 3 * CYCLES_PER_XDR), (issuer, 2 * CYCLES_PER_XDR), (s.messaging, 5 * CYCLES_PER_XDR), (app, CYCLES_PER_XDR)],
    );
    assert!(receipts.iter().all(|r| r.attributed && !r.duplicate && r.gap.is_none()), "{receipts:?}");

    // The app is attributed through both peers: its subnet (registry) and program (issuer).
    let app_burn = burn(env, ledger, receipts[3].burn_id);
    let attribution = app_burn.attribution.clone().expect("attributed");
    assert_eq!(attribution.subnet_id, Some(s.licensing.live_subnet));
    assert_eq!(attribution.owner.as_ref().map(|o| o.program_id), Some(s.program_id));
    // Conversion by hand: 10^12 cycles = 1 XDR = 1/3.5 ICP = 28,571,428 e8s (rounded down).
    assert_eq!(app_burn.icp_e8s, 28_571_428);
    assert_eq!(app_burn.rate.map(|r| r.xdr_permyriad_per_icp), Some(35_000));
    let app_totals = totals(env, ledger, Scope::Program(s.program_id));
    assert_eq!((app_totals.cycles, app_totals.micro_xdr, app_totals.icp_e8s), (CYCLES_PER_XDR, 1_000_000, 28_571_428));
    assert_eq!(totals(env, ledger, Scope::Subnet(s.licensing.live_subnet)).cycles, CYCLES_PER_XDR);
    // The suite's own canisters belong to no program and are not placed in the registry.
    assert_eq!(totals(env, ledger, Scope::NoProgram).cycles, 10 * CYCLES_PER_XDR);

    // A retried report is acknowledged, not counted again.
    let before = totals(env, ledger, Scope::Suite);
    let retry = usage(1, app_burn.report.period_start_ns, app_burn.report.period_end_ns, CYCLES_PER_XDR);
    let ack = report_usage(env, ledger, app, retry).expect("retry acknowledged");
    assert!(ack.duplicate);
    assert_eq!(ack.burn_id, receipts[3].burn_id);
    assert_eq!(totals(env, ledger, Scope::Suite), before);

    // Refusals: typed, nothing changes.
    let now = env.now_ns();
    let bad = [
        (STRANGER, usage(1, now - 10, now, 1), BurnError::UnknownReporter { caller: STRANGER }),
        (app, usage(2, now, now, 1), BurnError::EmptyOrBackwardsPeriod { period_start_ns: now, period_end_ns: now }),
        (app, usage(2, now - 1_000, now, u128::MAX), BurnError::CyclesOutOfBounds { cycles: u128::MAX, max: 10_000_000_000_000 }),
    ];
    for (caller, report, expected) in bad {
        assert_eq!(report_usage(env, ledger, caller, report), Err(expected));
    }
    // Anonymous ingress is turned away before execution (the endpoint would refuse it too).
    let anonymous: Result<(Result<ReportReceipt, BurnError>,), Reject> =
        try_update(env, ledger, Principal::anonymous(), "report_usage", (usage(1, now - 10, now, 1),));
    assert!(anonymous.as_ref().is_err_and(|r| r.message.contains("anonymous caller")), "{anonymous:?}");
    let zero = ConversionRate { xdr_permyriad_per_icp: 0, timestamp_seconds: now / 1_000_000_000 };
    let r: Result<(), BurnError> = update1(env, ledger, ledger_authority(), "set_conversion_rate", (zero,));
    assert_eq!(r, Err(BurnError::ZeroRate));
    // A non-authority's ingress is turned away before execution (the endpoint refuses it too).
    let r: Result<(Result<(), BurnError>,), Reject> =
        try_update(env, ledger, registry, "set_conversion_rate", (ConversionRate { xdr_permyriad_per_icp: 1, ..zero },));
    assert!(r.as_ref().is_err_and(|r| r.message.contains("not an authority")), "{r:?}");
    assert_eq!(totals(env, ledger, Scope::Suite), before);

    // A skipped sequence is a visible gap.
    let messaging_last = reporter_info(env, ledger, s.messaging).expect("known").last_period_end_ns;
    env.advance_time(Duration::from_secs(60));
    let now = env.now_ns();
    let gapped = report_usage(env, ledger, s.messaging, usage(4, messaging_last, now, 7)).expect("recorded");
    assert_eq!(gapped.gap.map(|g| (g.first, g.last)), Some((2, 3)));
    let gaps: Vec<SequenceGap> = query1(env, ledger, STRANGER, "gaps", (s.messaging, PageRequest::default()));
    assert_eq!(gaps.len(), 1);
    assert_eq!(reporter_info(env, ledger, s.messaging).unwrap().missing_sequences, 2);

    // The ledger reports its own usage on its hourly timer, through the shared client.
    env.advance_time(Duration::from_secs(3600));
    env.tick();
    let own: Option<common::usage_reporter::ReporterState> = query1(env, ledger, STRANGER, "usage_reporter_status", ());
    let own = own.expect("self-reporting started");
    assert!(own.reports_acknowledged >= 1, "{own:?}");
    assert_eq!(own.pending, None);
    assert_eq!(totals(env, ledger, Scope::Canister(ledger)).reports, own.reports_acknowledged);

    assert_dimensions_add_up(env, ledger);
    // Every recorded burn is an entry of the verified chain.
    let page: AuditPage = query1(env, ledger, STRANGER, "audit_log", (PageRequest::default(),));
    let recorded = page.entries.iter().filter(|e| e.kind == "burn_recorded").count() as u64;
    assert_eq!(recorded, totals(env, ledger, Scope::Suite).reports);
    let check: ChainCheck = query1(env, ledger, STRANGER, "verify_audit_log", (0u64, 10_000u64));
    assert_eq!(check, ChainCheck::Valid { checked: page.total });
}
scenario!(usage_flows_in_and_adds_up);

/// The registry fails (rejects, then is stopped): reports are kept unattributed and the retry
/// timer attributes them once it answers again.
fn failed_lookup_is_kept_and_attributed_later(env: &mut dyn Env) {
    let s = deploy_suite(env, Some(7 * 24 * 3600));
    let (registry, ledger, app) = (s.licensing.registry, s.ledger, s.app);
    set_rate(env, ledger, XDR_PERMYRIAD_PER_ICP);
    if !fault_or_skip(env, "failed_lookup (reject)", registry, "placement_of", Fault::Reject("registry down".into())) {
        return;
    }
    let receipt = report_one_hour(env, ledger, &[(app, 2 * CYCLES_PER_XDR)]).remove(0);
    assert!(!receipt.attributed);
    assert_eq!(totals(env, ledger, Scope::Unattributed).cycles, 2 * CYCLES_PER_XDR);
    assert_eq!(totals(env, ledger, Scope::Suite).cycles, 2 * CYCLES_PER_XDR, "kept although the lookup failed");
    assert!(burn(env, ledger, receipt.burn_id).attribution_attempts >= 1);
    assert_dimensions_add_up(env, ledger);

    // Still failing at the next timer run: still pending, nothing lost.
    env.advance_time(Duration::from_secs(DEFAULT_ATTRIBUTION_RETRY_SECONDS + 1));
    env.tick();
    assert!(burn(env, ledger, receipt.burn_id).attribution.is_none());

    // The registry answers again: the timer attributes the burn.
    env.clear_faults();
    env.advance_time(Duration::from_secs(DEFAULT_ATTRIBUTION_RETRY_SECONDS + 1));
    env.tick();
    env.tick();
    let b = burn(env, ledger, receipt.burn_id);
    assert_eq!(b.attribution.as_ref().and_then(|a| a.subnet_id), Some(s.licensing.live_subnet));
    assert_eq!(totals(env, ledger, Scope::Unattributed).cycles, 0);
    assert_eq!(totals(env, ledger, Scope::Program(s.program_id)).cycles, 2 * CYCLES_PER_XDR);

    // A stopped registry (the messaging peer's first report needs a lookup): same story.
    env.stop_canister(registry).expect("stop registry");
    let receipt = report_one_hour(env, ledger, &[(s.messaging, CYCLES_PER_XDR)]).remove(0);
    assert!(!receipt.attributed);
    assert_eq!(totals(env, ledger, Scope::Unattributed).cycles, CYCLES_PER_XDR);
    env.start_canister(registry).expect("start registry");
    env.advance_time(Duration::from_secs(DEFAULT_ATTRIBUTION_RETRY_SECONDS + 1));
    env.tick();
    env.tick();
    assert_eq!(totals(env, ledger, Scope::Unattributed).cycles, 0);
    assert_eq!(totals(env, ledger, Scope::UnknownSubnet).cycles, CYCLES_PER_XDR);
    assert_dimensions_add_up(env, ledger);
}
scenario!(failed_lookup_is_kept_and_attributed_later);

/// Burning exactly the Mission 70 target for an hour, at 3.5 XDR/ICP, against 9.72 % gross
/// minting on 540 M ICP; then an upgrade keeps every figure.
fn meter_matches_hand_computation_and_upgrade_keeps_everything(env: &mut dyn Env) {
    let s = deploy_suite(env, Some(7 * 24 * 3600));
    let ledger = s.ledger;
    set_rate(env, ledger, XDR_PERMYRIAD_PER_ICP);
    let model = IssuanceModel { annual_gross_minting_bps: 972, target_net_inflation_bps: 542, total_supply_e8s: 540_000_000 * 100_000_000 };
    set_model(env, ledger, model);
    // 0.77 XDR/s for 3600 s = 2,772 XDR, split over the three peers.
    let third: u128 = 924 * CYCLES_PER_XDR;
    report_one_hour(env, ledger, &[(s.licensing.registry, third), (s.licensing.issuer, third), (s.messaging, third)]);

    let meter: Result<Mission70Meter, BurnError> = query1(env, ledger, STRANGER, "mission70_meter", (Some(3600u64),));
    let m = meter.expect("meter");
    assert_eq!(m.burn_rate.window_seconds, 3600);
    assert_eq!(m.burn_rate.micro_xdr_per_second, 770_000);
    assert_eq!(m.burn_rate.share_of_target_bps, 10_000);
    // 0.77 XDR/s × 31,536,000 s / 3.5 XDR per ICP = 6,937,920 ICP per year.
    assert_eq!(m.icp_e8s_burned_per_year, Some(6_937_920 * 100_000_000));
    // 6,937,920 / 540,000,000 = 1.2848 % of supply = 12,848 hundredths of a bp.
    assert_eq!(m.burn_centi_bps_of_supply, Some(12_848));
    assert_eq!(m.net_inflation_centi_bps, Some(97_200 - 12_848));
    let too_short: Result<BurnRate, BurnError> = query1(env, ledger, STRANGER, "burn_rate", (59u64,));
    assert!(matches!(too_short, Err(BurnError::ArgumentOutOfRange { .. })));

    let before = checkpoint(env, ledger);
    let config_before: Config = query1(env, ledger, STRANGER, "config", ());
    let audit_before: AuditPage = query1(env, ledger, STRANGER, "audit_log", (PageRequest::default(),));
    env.upgrade(ledger, &wasm("burn_ledger"), candid::encode_one(None::<InitArgs>).unwrap()).expect("upgrade");
    let after = checkpoint(env, ledger);
    assert_eq!((after.suite, after.per_subnet.clone(), after.per_program.clone()), (before.suite, before.per_subnet, before.per_program));
    assert_eq!(after.meter.icp_e8s_burned_per_year, before.meter.icp_e8s_burned_per_year);
    let config_after: Config = query1(env, ledger, STRANGER, "config", ());
    assert_eq!(config_after, config_before);
    let audit_after: AuditPage = query1(env, ledger, STRANGER, "audit_log", (PageRequest::default(),));
    assert_eq!(audit_after.entries[..audit_before.entries.len()], audit_before.entries[..]);
    // Sequence state survived: a retry is still a duplicate, the next sequence is accepted.
    let info = reporter_info(env, ledger, s.messaging).expect("known");
    let first = burn(env, ledger, 2);
    assert!(report_usage(env, ledger, first.reporter, first.report.clone()).expect("ack").duplicate);
    env.advance_time(Duration::from_secs(60));
    let now = env.now_ns();
    let next = report_usage(env, ledger, s.messaging, usage(info.last_sequence + 1, info.last_period_end_ns, now, 5)).expect("next");
    assert!(!next.duplicate);
    // Timers were restarted: the retry timer still runs after the upgrade (nothing pending here).
    env.advance_time(Duration::from_secs(DEFAULT_ATTRIBUTION_RETRY_SECONDS + 1));
    env.tick();
    assert_eq!(checkpoint(env, ledger).pending_attribution, 0);
}
scenario!(meter_matches_hand_computation_and_upgrade_keeps_everything);

/// A real peer (subnet_registry, using `common::usage_reporter`) reports on its timer. When the
/// ledger records a report but the reply is lost, the peer resends the same sequence and the
/// ledger acknowledges it without counting it twice.
fn peer_client_resends_after_a_lost_reply_and_is_counted_once(env: &mut dyn Env) {
    let registry = env.create_canister();
    let ledger = env.create_canister();
    suite_tests::scenarios::subnet_registry::install_registry(env, registry, vec![], Some(ledger));
    install_ledger(env, ledger, ledger_args(Some(registry), None, vec![registry], Some(7 * 24 * 3600)));
    let status = |env: &mut dyn Env| -> common::usage_reporter::ReporterState {
        let s: Option<common::usage_reporter::ReporterState> = query1(env, registry, STRANGER, "usage_reporter_status", ());
        s.expect("registry reporting started")
    };
    let hour = |env: &mut dyn Env| {
        env.advance_time(Duration::from_secs(3600));
        for _ in 0..4 {
            env.tick();
        }
    };
    hour(env);
    assert_eq!(reporter_info(env, ledger, registry).map(|i| (i.last_sequence, i.reports)), Some((1, 1)));
    assert_eq!(status(env).reports_acknowledged, 1);

    if !fault_or_skip(env, "lost reply", ledger, "report_usage", Fault::ResponseLost) {
        return;
    }
    hour(env);
    // The ledger recorded sequence 2, the registry never heard back: it keeps it pending.
    assert_eq!(reporter_info(env, ledger, registry).map(|i| (i.last_sequence, i.reports)), Some((2, 2)));
    let pending = status(env).pending.expect("kept pending");
    assert_eq!(pending.sequence, 2);
    let recorded_cycles = totals(env, ledger, Scope::Canister(registry)).cycles;

    env.clear_faults();
    hour(env);
    // The resend of 2 was acknowledged as a duplicate; a later tick sends 3.
    let st = status(env);
    assert_eq!((st.reports_acknowledged, st.reports_refused, st.pending.is_none()), (2, 0, true), "{st:?}");
    let info = reporter_info(env, ledger, registry).unwrap();
    assert_eq!((info.last_sequence, info.reports, info.missing_sequences), (2, 2, 0));
    assert_eq!(totals(env, ledger, Scope::Canister(registry)).cycles, recorded_cycles, "not counted twice");
    hour(env);
    let info = reporter_info(env, ledger, registry).unwrap();
    assert_eq!((info.last_sequence, info.reports), (3, 3));
    assert_eq!(totals(env, ledger, Scope::Canister(registry)).reports, 3);
}
scenario!(peer_client_resends_after_a_lost_reply_and_is_counted_once);

/// The previous release (schema 1) stored each burn in the hour its period ended. Upgraded to
/// this one (schema 2), those buckets stay exactly as they were (also when a burn that was still
/// unattributed is attributed later), new burns are spread over their period, and going back to
/// the previous release is refused.
fn upgrade_from_the_previous_release_keeps_every_bucket(env: &mut dyn Env) {
    let s = deploy_suite(env, Some(7 * 24 * 3600));
    let (ledger, registry) = (s.ledger, s.licensing.registry);
    let old = with_wasm_dir(release_dir("v0.1.0"), || wasm("burn_ledger"));
    let args = ledger_args(Some(registry), Some(s.licensing.issuer), vec![registry, s.licensing.issuer, s.messaging], Some(7 * 24 * 3600));
    env.reinstall(ledger, &old, candid::encode_one(Some(args)).unwrap()).expect("previous release installs");
    set_rate(env, ledger, XDR_PERMYRIAD_PER_ICP);
    env.advance_time(Duration::from_secs(2 * 86_400));
    let now = env.now_ns();
    const H: u64 = 3_600_000_000_000;
    report_usage(env, ledger, s.messaging, usage(1, now - 24 * H, now - H, 23 * CYCLES_PER_XDR)).expect("old: attributed");
    if !fault_or_skip(env, "previous release: pending burn", registry, "placement_of", Fault::Reject("registry down".into())) {
        return;
    }
    let pending = report_usage(env, ledger, s.licensing.issuer, usage(1, now - 24 * H, now, 24 * CYCLES_PER_XDR)).expect("old: recorded");
    assert!(!pending.attributed);
    env.clear_faults();
    let hours = |env: &mut dyn Env, scope: Scope| -> Vec<Bucket> {
        let r: Result<Vec<Bucket>, BurnError> = query1(env, ledger, STRANGER, "series", (SeriesRequest { scope, granularity: Granularity::Hour, from_ns: 0, to_ns: u64::MAX, limit: None },));
        r.expect("series")
    };
    let before = hours(env, Scope::Suite);
    assert_eq!(before.len(), 2, "the previous release put each burn in its last hour: {before:?}");
    let suite_before = totals(env, ledger, Scope::Suite);

    env.upgrade(ledger, &wasm("burn_ledger"), candid::encode_one(None::<InitArgs>).unwrap()).expect("upgrade to this release");
    let config: Config = query1(env, ledger, STRANGER, "config", ());
    assert_eq!(config.schema_version, 3);
    assert_eq!(hours(env, Scope::Suite), before, "stored buckets unchanged");
    assert_eq!(totals(env, ledger, Scope::Suite), suite_before);
    // The pending schema-1 burn is attributed the way it was stored.
    let r: Result<u64, BurnError> = update1(env, ledger, ledger_authority(), "retry_attribution", ());
    assert_eq!(r, Ok(1));
    assert_eq!(totals(env, ledger, Scope::Unattributed).cycles, 0);
    assert_eq!(hours(env, Scope::Suite), before);
    let moved = hours(env, Scope::Canister(s.licensing.issuer));
    assert_eq!(hours(env, Scope::NoProgram).iter().map(|b| b.amounts.cycles).sum::<u128>(), 47 * CYCLES_PER_XDR);
    assert_eq!(moved.len(), 1);
    // A new burn is spread over its day.
    env.advance_time(Duration::from_secs(86_400));
    let later = env.now_ns();
    report_usage(env, ledger, s.messaging, usage(2, later - 24 * H, later, 24 * CYCLES_PER_XDR)).expect("new: recorded");
    let spread: Vec<Bucket> = hours(env, Scope::Canister(s.messaging)).into_iter().filter(|b| b.start_ns >= later - 25 * H).collect();
    assert!((24..=25).contains(&spread.len()), "{spread:?}");
    assert_eq!(spread.iter().map(|b| b.amounts.cycles).sum::<u128>(), 24 * CYCLES_PER_XDR);
    assert_dimensions_add_up(env, ledger);
    // Back to the previous release: refused, this release keeps running.
    let refused = env.upgrade(ledger, &old, candid::encode_one(None::<InitArgs>).unwrap());
    assert!(refused.as_ref().is_err_and(|r| r.message.contains("downgrade")), "{refused:?}");
    assert_eq!(query1::<_, Config>(env, ledger, STRANGER, "config", ()).schema_version, 3);
}
scenario!(upgrade_from_the_previous_release_keeps_every_bucket);

fn series_of(env: &mut dyn Env, ledger: Principal, scope: Scope, granularity: Granularity, from_ns: u64, to_ns: u64) -> Vec<Bucket> {
    let mut out = vec![];
    let mut from = from_ns;
    loop {
        let r: Result<Vec<Bucket>, BurnError> = query1(env, ledger, STRANGER, "series", (SeriesRequest { scope, granularity, from_ns: from, to_ns, limit: None },));
        let page = r.expect("series");
        let Some(last) = page.last() else { return out };
        from = last.start_ns + 1;
        out.extend(page);
    }
}

fn burn_rate(env: &mut dyn Env, ledger: Principal, window_seconds: u64) -> BurnRate {
    let r: Result<BurnRate, BurnError> = query1(env, ledger, STRANGER, "burn_rate", (window_seconds,));
    r.expect("burn_rate")
}

/// `burn_rate` reads whole days from the daily buckets: over 31 days (and other windows) it
/// equals the sum of the suite's hourly series over the same window, paged through, with the
/// edge hour counted pro rata; each daily bucket is the sum of its hours.
fn burn_rate_over_31_days_is_the_sum_of_its_hourly_series(env: &mut dyn Env) {
    const H: u64 = 3_600_000_000_000;
    let reporters: Vec<Principal> = (0..3).map(|_| env.create_canister()).collect();
    let ledger = env.create_canister();
    install_ledger(env, ledger, ledger_args(None, None, reporters.clone(), Some(7 * 24 * 3600)));
    env.advance_time(Duration::from_secs(40 * 86_400 + 1_234));
    // A month-long backfill, then uneven reports every 7 hours for 5 days (periods cross days).
    let now = env.now_ns();
    let first_start = now - 31 * 24 * H + 5_000_000_000;
    report_usage(env, ledger, reporters[0], usage(1, first_start, now - 1_000_000_000, 31 * 24 * 3_600_000_000_007)).expect("backfill");
    let mut seq = [1u64, 0, 0];
    let mut ends = [now - 1_000_000_000, now - 3 * H, now - 5 * H];
    for step in 0..17u64 {
        env.advance_time(Duration::from_secs(7 * 3600 + 61));
        let now = env.now_ns();
        for (i, r) in reporters.iter().enumerate() {
            seq[i] += 1;
            let cycles = 1_000_000_007u128 * (step as u128 + 3) * (i as u128 + 1) * 3_600;
            report_usage(env, ledger, *r, usage(seq[i], ends[i], now, cycles)).expect("report");
            ends[i] = now;
        }
    }
    env.advance_time(Duration::from_secs(1_800));
    let now = env.now_ns();
    let hours = series_of(env, ledger, Scope::Suite, Granularity::Hour, 0, u64::MAX);
    let days = series_of(env, ledger, Scope::Suite, Granularity::Day, 0, u64::MAX);
    for d in &days {
        let sum: u128 = hours.iter().filter(|h| h.start_ns / (24 * H) == d.start_ns / (24 * H)).map(|h| h.amounts.cycles).sum();
        assert_eq!(d.amounts.cycles, sum, "day {}", d.start_ns);
    }
    for window in [31 * 86_400u64, 30 * 86_400 + 999, 7 * 86_400, 86_400 + 3_599, 3_600] {
        let rate = burn_rate(env, ledger, window);
        assert_eq!(rate.window_seconds, window);
        let from = now - window * 1_000_000_000;
        let edge = from / H * H;
        let expected: u128 = hours
            .iter()
            .filter(|h| h.start_ns >= edge && h.start_ns < now)
            .map(|h| {
                // The edge hour counts the part after `from` (the burn began before it).
                let span_start = h.start_ns.max(first_start);
                if h.start_ns == edge && from > span_start {
                    let span_end = (h.start_ns + H).min(now);
                    let (part, span) = ((span_end - from) as u128, (span_end - span_start) as u128);
                    h.amounts.cycles / span * part + h.amounts.cycles % span * part / span
                } else {
                    h.amounts.cycles
                }
            })
            .sum();
        assert_eq!(rate.cycles_in_window, expected, "window {window}");
    }
    assert_eq!(hours.iter().map(|h| h.amounts.cycles).sum::<u128>(), totals(env, ledger, Scope::Suite).cycles);
}
scenario!(burn_rate_over_31_days_is_the_sum_of_its_hourly_series);

/// Release v0.2.0 (schema 2) stored bucket values as CBOR. Upgraded to schema 3 (compact bucket
/// values, nothing rewritten), every total and bucket reads the same, new reports add to the
/// old buckets exactly, the lists still add up, and going back to v0.2.0 is refused.
fn upgrade_from_v0_2_0_keeps_every_total_and_bucket(env: &mut dyn Env) {
    let s = deploy_suite(env, Some(7 * 24 * 3600));
    let (ledger, registry) = (s.ledger, s.licensing.registry);
    let old = with_wasm_dir(release_dir("v0.2.0"), || wasm("burn_ledger"));
    let args = ledger_args(Some(registry), Some(s.licensing.issuer), vec![registry, s.licensing.issuer, s.messaging], Some(7 * 24 * 3600));
    env.reinstall(ledger, &old, candid::encode_one(Some(args)).unwrap()).expect("v0.2.0 installs");
    set_rate(env, ledger, XDR_PERMYRIAD_PER_ICP);
    env.advance_time(Duration::from_secs(3 * 86_400));
    for _ in 0..3 {
        report_one_hour(env, ledger, &[(registry, 3 * CYCLES_PER_XDR), (s.licensing.issuer, 2 * CYCLES_PER_XDR), (s.messaging, 7), (s.app, CYCLES_PER_XDR + 1)]);
    }
    let scopes = [Scope::Suite, Scope::Canister(s.app), Scope::Program(s.program_id), Scope::Subnet(s.licensing.live_subnet), Scope::NoProgram, Scope::UnknownSubnet];
    let read = |env: &mut dyn Env| -> Vec<(Amounts, Vec<Bucket>, Vec<Bucket>)> {
        scopes.iter().map(|scope| (totals(env, ledger, *scope), series_of(env, ledger, *scope, Granularity::Hour, 0, u64::MAX), series_of(env, ledger, *scope, Granularity::Day, 0, u64::MAX))).collect()
    };
    let before = read(env);
    let checkpoint_before = checkpoint(env, ledger);
    let rate_before = burn_rate(env, ledger, 31 * 86_400);

    env.upgrade(ledger, &wasm("burn_ledger"), candid::encode_one(None::<InitArgs>).unwrap()).expect("upgrade to schema 3");
    assert_eq!(query1::<_, Config>(env, ledger, STRANGER, "config", ()).schema_version, 3);
    assert_eq!(read(env), before, "every total and bucket reads as before");
    let after = checkpoint(env, ledger);
    assert_eq!((after.suite, after.per_subnet, after.per_program), (checkpoint_before.suite, checkpoint_before.per_subnet, checkpoint_before.per_program));
    assert_eq!(burn_rate(env, ledger, 31 * 86_400), rate_before);

    // New reports land on the same buckets as the old ones (same hour): exact sums.
    let suite = totals(env, ledger, Scope::Suite);
    report_one_hour(env, ledger, &[(s.app, 5 * CYCLES_PER_XDR), (s.messaging, 11)]);
    let now_suite = totals(env, ledger, Scope::Suite);
    assert_eq!((now_suite.cycles, now_suite.reports), (suite.cycles + 5 * CYCLES_PER_XDR + 11, suite.reports + 2));
    let hours = series_of(env, ledger, Scope::Suite, Granularity::Hour, 0, u64::MAX);
    assert_eq!(hours.iter().map(|b| b.amounts.cycles).sum::<u128>(), now_suite.cycles, "no burn lost or counted twice");
    assert_dimensions_add_up(env, ledger);
    // Two days later buckets go to the compact maps; a report spanning the change (the app's
    // period runs from its last report) is split exactly across both, and the series, paged,
    // still add up to the totals.
    env.advance_time(Duration::from_secs(2 * 86_400));
    report_one_hour(env, ledger, &[(s.app, 48 * CYCLES_PER_XDR + 5), (s.messaging, 13)]);
    let suite = totals(env, ledger, Scope::Suite);
    for scope in scopes {
        let t = totals(env, ledger, scope);
        let hours = series_of(env, ledger, scope, Granularity::Hour, 0, u64::MAX);
        let days = series_of(env, ledger, scope, Granularity::Day, 0, u64::MAX);
        assert_eq!(hours.iter().map(|b| b.amounts.cycles).sum::<u128>(), t.cycles, "{scope:?} hours");
        assert_eq!(days.iter().map(|b| b.amounts.cycles).sum::<u128>(), t.cycles, "{scope:?} days");
        assert_eq!(hours.iter().map(|b| b.amounts.reports).sum::<u64>(), t.reports, "{scope:?} reports");
    }
    assert_dimensions_add_up(env, ledger);
    let now_suite = suite;
    let refused = env.upgrade(ledger, &old, candid::encode_one(None::<InitArgs>).unwrap());
    assert!(refused.as_ref().is_err_and(|r| r.message.contains("downgrade")), "{refused:?}");
    assert_eq!(totals(env, ledger, Scope::Suite), now_suite);
}
scenario!(upgrade_from_v0_2_0_keeps_every_total_and_bucket);
