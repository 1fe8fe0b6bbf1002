//! The suite end to end: the Pakistan rollout with all four canisters wired together, every
//! inter-canister call failing in turn (and recovering), and each canister upgraded mid-rollout.
//! Each scenario runs on the executor and, with POCKET_IC_BIN, on PocketIC.

use candid::Principal;
use common::usage_reporter::ReporterState;
use interfaces::burn_ledger::{BurnCheckpoint, BurnError, ReporterInfo, Scope, DEFAULT_ATTRIBUTION_RETRY_SECONDS};
use interfaces::license_issuer::{App, AppInput, AppOwner, LicenseError, PendingApp};
use interfaces::subnet_registry::Placement;
use std::time::Duration;
use suite_tests::checkpoint::{self, CheckpointReport};
use suite_tests::rollout::{self, Rollout, Suite, CITIZENS};
use suite_tests::scenarios::{burn_ledger as bl, license_issuer as li};
use suite_tests::*;

fn deploy_and_roll_out(env: &mut dyn Env) -> (Suite, Rollout) {
    let suite = rollout::deploy_suite(env);
    let done = rollout::run_rollout(env, suite, &mut |_| {});
    (suite, done)
}

fn lines_sum(lines: &[interfaces::burn_ledger::CheckpointLine]) -> u128 {
    lines.iter().map(|l| l.amounts.cycles).sum()
}

/// The report's figures agree with each other and with what the rollout did.
fn assert_report_consistent(report: &CheckpointReport, done: &Rollout) {
    let s = &report.subnet;
    assert_eq!(s.status, interfaces::subnet_registry::SubnetStatus::Live);
    assert!(s.compliant && s.violations.is_empty(), "violations: {:?}", s.violations);
    assert_eq!((s.members, s.residency.resident_nodes, s.sev.nodes_with_sev), (13, 13, 13));
    assert_eq!(s.live_since_ns, done.subnet.live_since_ns);

    let m = &report.messenger;
    assert_eq!(m.users, 1 + u64::from(CITIZENS));
    assert_eq!((m.verified_institutions, m.direct_conversations, m.groups), (1, 1, 1));
    assert_eq!(m.messages_sent, done.messaging.sent.len() as u64);
    assert!(m.daily_active_senders >= 2);

    let l = &report.licensing;
    let offered: u64 = done.licenses.programs.iter().map(|p| p.offered.len() as u64).sum();
    let accepted: u64 = done.licenses.programs.iter().map(|p| p.accepted.len() as u64).sum();
    let apps: u64 = done.licenses.programs.iter().map(|p| p.apps.len() as u64).sum();
    assert_eq!((l.seats_in_use, l.totals.active, l.apps_live), (offered, accepted, apps));
    assert_eq!(l.by_sector.iter().map(|s| s.seats.in_use).sum::<u64>(), l.seats_in_use);
    assert_eq!(l.by_program.iter().map(|p| p.seats.apps).sum::<u64>(), apps);

    let b = &report.burn;
    assert_eq!(b.pending_attribution, 0);
    assert_eq!(b.missing_sequences, 0);
    assert_eq!(lines_sum(&b.per_subnet), b.suite.cycles, "per-subnet lines add up to the suite");
    assert_eq!(lines_sum(&b.per_program), b.suite.cycles, "per-program lines add up to the suite");
    // Every app burned on the Pakistan subnet; each program's burn is its apps' burn.
    let app_total: u128 = done.app_usage.iter().map(|(_, c)| c).sum();
    let on_subnet = b.per_subnet.iter().find(|l| l.scope == Scope::Subnet(done.subnet.id)).expect("subnet line");
    assert_eq!(on_subnet.amounts.cycles, app_total);
    for p in &done.licenses.programs {
        let expected: u128 = p
            .apps
            .iter()
            .map(|a| done.app_usage.iter().find(|(c, _)| *c == a.canister).expect("app reported").1)
            .sum();
        let line = b.per_program.iter().find(|l| l.scope == Scope::Program(p.program.id));
        assert_eq!(line.map_or(0, |l| l.amounts.cycles), expected, "program {}", p.program.name);
    }
    // The suite's own canisters measured and reported real consumption too.
    assert!(b.suite.cycles > app_total, "suite canisters reported nothing");
    assert!(b.suite.icp_e8s > 0 && b.meter.burn_rate.micro_xdr_per_second > 0);
}

/// The full rollout, and the checkpoint report that the demo prints.
fn full_rollout(env: &mut dyn Env) {
    let (suite, done) = deploy_and_roll_out(env);
    let report = checkpoint::fetch(env, suite, done.subnet.id);
    assert_report_consistent(&report, &done);
    // 13 apps + registry, issuer, messenger and the ledger itself.
    assert_eq!(report.burn.reporters, done.app_usage.len() as u64 + 4);
    let text = report.to_string();
    assert!(text.contains("compliant: yes") && text.contains("13 apps live"), "{text}");
}
scenario!(full_rollout);

fn reporter_state(env: &mut dyn Env, canister: Principal) -> ReporterState {
    let state: Option<ReporterState> = query1(env, canister, Principal::anonymous(), "usage_reporter_status", ());
    state.expect("usage reporting is configured")
}

fn ledger_view(env: &mut dyn Env, ledger: Principal, reporter: Principal) -> ReporterInfo {
    bl::reporter_info(env, ledger, reporter).expect("reporter known to the ledger")
}

/// The `n`th builder of the rollout's first program: an active license with one app and room
/// for two more.
fn builder(done: &Rollout, n: usize) -> (Principal, u64) {
    let license = &done.licenses.programs[0].accepted[n];
    (license.holder, license.id)
}

/// A late app: a new canister its holder controls.
fn app_input(env: &mut dyn Env, done: &Rollout, holder: Principal, license_id: u64, n: u16) -> AppInput {
    AppInput { license_id, name: format!("Late app {n}"), canister: li::holder_canister(env, holder), subnet_id: done.subnet.id }
}

/// Nothing of an app whose registration failed is left anywhere.
fn assert_no_trace_of(env: &mut dyn Env, suite: Suite, canister: Principal) {
    let owner: Option<AppOwner> = query1(env, suite.issuer, Principal::anonymous(), "app_owner", (canister,));
    let pending: Option<PendingApp> = query1(env, suite.issuer, Principal::anonymous(), "pending_app", (canister,));
    let placement: Option<Placement> = query1(env, suite.registry, Principal::anonymous(), "placement_of", (canister,));
    assert_eq!((owner, pending, placement), (None, None, None), "half-recorded app {canister}");
}

/// Stops `canister` (or injects `fault` on its `method`), returning false if the backend can't.
fn break_callee(env: &mut dyn Env, part: &str, canister: Principal, method: &str, fault: &Option<Fault>) -> bool {
    match fault {
        Some(fault) => fault_or_skip(env, part, canister, method, fault.clone()),
        None => {
            env.stop_canister(canister).unwrap_or_else(|r| panic!("stopping {canister}: {r}"));
            true
        }
    }
}

fn mend_callee(env: &mut dyn Env, canister: Principal, fault: &Option<Fault>) {
    match fault {
        Some(_) => env.clear_faults(),
        None => env.start_canister(canister).unwrap_or_else(|r| panic!("starting {canister}: {r}")),
    }
}

/// The ways a callee fails in these scenarios: stopped (a real stop, on both backends), or
/// trapping / rejecting the method (injected; executor only).
fn failures() -> Vec<(&'static str, Option<Fault>)> {
    vec![
        ("stopped", None),
        ("trapping", Some(Fault::Trap("injected trap".into()))),
        ("rejecting", Some(Fault::Reject("injected reject".into()))),
    ]
}

/// license_issuer → subnet_registry (`record_placement`): each failure leaves no app, no pending
/// slot and no placement; once the registry is back the same registration succeeds.
fn issuer_to_registry_fails_in_turn(env: &mut dyn Env) {
    let (suite, done) = deploy_and_roll_out(env);
    let apps_before = checkpoint::fetch(env, suite, done.subnet.id).licensing.apps_live;
    for (n, (how, fault)) in failures().into_iter().enumerate() {
        let (holder, license_id) = builder(&done, n);
        let part = format!("issuer_to_registry_fails_in_turn::{how}");
        if !break_callee(env, &part, suite.registry, "record_placement", &fault) {
            continue;
        }
        let input = app_input(env, &done, holder, license_id, n as u16);
        let refused: Result<App, LicenseError> = update1(env, suite.issuer, holder, "register_app", (input.clone(),));
        assert!(
            matches!(refused, Err(LicenseError::RegistryUnavailable { .. })),
            "registry {how}: expected RegistryUnavailable, got {refused:?}"
        );
        mend_callee(env, suite.registry, &fault);
        assert_no_trace_of(env, suite, input.canister);
        let app: Result<App, LicenseError> = update1(env, suite.issuer, holder, "register_app", (input.clone(),));
        let app = app.unwrap_or_else(|e| panic!("after the registry recovered from {how}: {e:?}"));
        let placement: Option<Placement> = query1(env, suite.registry, Principal::anonymous(), "placement_of", (app.canister,));
        assert_eq!(placement.map(|p| p.subnet_id), Some(done.subnet.id));
    }
    let report = checkpoint::fetch(env, suite, done.subnet.id);
    assert!(report.licensing.apps_live > apps_before);
}
scenario!(issuer_to_registry_fails_in_turn);

/// registry, issuer, messaging → burn_ledger (`report_usage`): while the ledger is unreachable
/// each reporter keeps its report pending; afterwards every period arrives exactly once.
fn reporters_to_ledger_fail_in_turn(env: &mut dyn Env) {
    let (suite, _) = deploy_and_roll_out(env);
    let reporters = [suite.registry, suite.issuer, suite.messaging];
    for (how, fault) in failures() {
        let before: Vec<ReporterInfo> = reporters.iter().map(|&r| ledger_view(env, suite.ledger, r)).collect();
        let part = format!("reporters_to_ledger_fail_in_turn::{how}");
        if !break_callee(env, &part, suite.ledger, "report_usage", &fault) {
            continue;
        }
        env.advance_time(rollout::REPORT_INTERVAL);
        env.tick();
        for &r in &reporters {
            let state = reporter_state(env, r);
            assert!(state.pending.is_some() && state.last_error.is_some(), "{how}: {r} has no pending report: {state:?}");
        }
        // The ledger is unreachable, so nothing may have moved there (read once it answers again).
        mend_callee(env, suite.ledger, &fault);
        for (&r, seen) in reporters.iter().zip(&before) {
            assert_eq!(ledger_view(env, suite.ledger, r).last_sequence, seen.last_sequence, "{how}: {r} counted while down");
        }
        env.advance_time(rollout::REPORT_INTERVAL);
        env.tick();
        for (&r, seen) in reporters.iter().zip(&before) {
            let state = reporter_state(env, r);
            let info = ledger_view(env, suite.ledger, r);
            assert!(state.pending.is_none(), "{how}: {r} still pending after recovery: {state:?}");
            assert!(info.last_sequence > seen.last_sequence, "{how}: {r} never delivered");
            assert_eq!(info.missing_sequences, 0, "{how}: {r} has gaps");
            assert_eq!(info.reports, state.reports_acknowledged, "{how}: {r}: every acknowledged report counted once");
        }
    }
    let report: BurnCheckpoint = bl::checkpoint(env, suite.ledger);
    assert_eq!(lines_sum(&report.per_subnet), report.suite.cycles);
}
scenario!(reporters_to_ledger_fail_in_turn);

/// burn_ledger → subnet_registry (`placement_of`) and → license_issuer (`app_owner`): a report
/// whose attribution lookup fails is kept as unattributed and attributed by the retry timer; a
/// new app the issuer cannot vouch for gets a typed refusal and nothing is recorded.
fn ledger_lookups_fail_in_turn(env: &mut dyn Env) {
    let (suite, done) = deploy_and_roll_out(env);
    let (app, _) = done.app_usage[0];
    let program = Scope::Program(done.licenses.programs[0].program.id);
    assert!(done.licenses.programs[0].apps.iter().any(|a| a.canister == app));
    for (how, fault) in failures() {
        let part = format!("ledger_lookups_fail_in_turn::registry_{how}");
        if !break_callee(env, &part, suite.registry, "placement_of", &fault) {
            continue;
        }
        // The cached placement expires before the next report, so the ledger must ask again.
        env.advance_time(Duration::from_secs(6 * 3600 + 1));
        let before = bl::checkpoint(env, suite.ledger).suite;
        let program_before = bl::totals(env, suite.ledger, program).cycles;
        bl::report_one_hour(env, suite.ledger, &[(app, 1_000_000_000)]);
        let during = bl::checkpoint(env, suite.ledger);
        assert_eq!(during.suite.cycles, before.cycles + 1_000_000_000, "{how}: the report was not kept");
        assert!(during.pending_attribution >= 1, "{how}: nothing waits for attribution");
        mend_callee(env, suite.registry, &fault);
        env.advance_time(Duration::from_secs(DEFAULT_ATTRIBUTION_RETRY_SECONDS));
        env.tick();
        // The app's burn reached its program (other reports may be arriving meanwhile).
        assert_eq!(bl::totals(env, suite.ledger, program).cycles, program_before + 1_000_000_000, "{how}: not attributed after recovery");
        let after = bl::checkpoint(env, suite.ledger);
        assert_eq!(lines_sum(&after.per_program), after.suite.cycles);
        assert_eq!(lines_sum(&after.per_subnet), after.suite.cycles);
    }

    // A brand-new app: the ledger must ask the issuer whether it may report at all.
    for (n, (how, fault)) in failures().into_iter().enumerate() {
        let (holder, license_id) = builder(&done, n);
        let input = app_input(env, &done, holder, license_id, 100 + n as u16);
        let registered: Result<App, LicenseError> = update1(env, suite.issuer, holder, "register_app", (input.clone(),));
        registered.unwrap_or_else(|e| panic!("register {}: {e:?}", input.name));
        let part = format!("ledger_lookups_fail_in_turn::issuer_{how}");
        if !break_callee(env, &part, suite.issuer, "app_owner", &fault) {
            continue;
        }
        let before = bl::checkpoint(env, suite.ledger).suite;
        let now = env.now_ns();
        let refused = bl::report_usage(env, suite.ledger, input.canister, bl::usage(1, now - 1_000_000_000, now, 5_000));
        assert!(matches!(refused, Err(BurnError::ReporterCheckUnavailable { .. })), "issuer {how}: {refused:?}");
        assert_eq!(bl::checkpoint(env, suite.ledger).suite, before, "issuer {how}: a refused report changed totals");
        mend_callee(env, suite.issuer, &fault);
        let accepted = bl::report_usage(env, suite.ledger, input.canister, bl::usage(1, now - 1_000_000_000, now, 5_000));
        accepted.unwrap_or_else(|e| panic!("issuer back from {how}: {e:?}"));
        assert_eq!(bl::checkpoint(env, suite.ledger).suite.cycles, before.cycles + 5_000);
    }
}
scenario!(ledger_lookups_fail_in_turn);

fn upgrade(env: &mut dyn Env, canister: Principal, name: &str) {
    env.upgrade(canister, &wasm(name), candid::encode_one(None::<()>).unwrap())
        .unwrap_or_else(|r| panic!("upgrading {name}: {r}"));
}

/// Each canister upgraded in the middle of the rollout: the rollout carries on, and the final
/// report is as consistent as without upgrades.
fn upgrade_each_canister_mid_rollout(env: &mut dyn Env) {
    let suite = rollout::deploy_suite(env);
    let quiet = &mut |_: &str| {};
    let subnet = rollout::bring_subnet_live(env, suite, quiet);
    upgrade(env, suite.registry, "subnet_registry");
    let licenses = rollout::allocate_licenses(env, suite, subnet.id, quiet);
    upgrade(env, suite.issuer, "license_issuer");
    let messaging = rollout::exchange_messages(env, suite, quiet);
    upgrade(env, suite.messaging, "messaging");
    let app_usage = rollout::report_usage(env, suite, &licenses, quiet);
    let before = checkpoint::fetch(env, suite, subnet.id);
    upgrade(env, suite.ledger, "burn_ledger");
    let after = checkpoint::fetch(env, suite, subnet.id);
    assert_eq!(after.burn.suite, before.burn.suite, "the ledger's totals survive its upgrade");
    assert_eq!(after.licensing.seats_in_use, before.licensing.seats_in_use);
    let done = Rollout { subnet, licenses, messaging, app_usage };
    assert_report_consistent(&after, &done);
    // Reporting continues after the upgrades, in sequence.
    env.advance_time(rollout::REPORT_INTERVAL);
    env.tick();
    for r in [suite.registry, suite.issuer, suite.messaging] {
        let info = ledger_view(env, suite.ledger, r);
        assert!(info.reports >= 2 && info.missing_sequences == 0, "{r}: {info:?}");
    }
}
scenario!(upgrade_each_canister_mid_rollout);


fn audit_len(env: &mut dyn Env, canister: Principal) -> u64 {
    let page: interfaces::audit::AuditPage =
        query1(env, canister, Principal::anonymous(), "audit_log", (interfaces::audit::PageRequest { start: None, limit: Some(0) },));
    page.total
}

/// The `schema_version` field of a canister's `config` (each canister has its own `Config` type).
fn schema_version(env: &mut dyn Env, canister: Principal) -> u32 {
    let bytes = env.query_raw(canister, Principal::anonymous(), "config", candid::encode_args(()).unwrap()).unwrap();
    let args = candid::IDLArgs::from_bytes(&bytes).unwrap();
    let candid::types::value::IDLValue::Record(fields) = &args.args[0] else { panic!("config is not a record") };
    let field = fields.iter().find(|f| f.id.get_id() == candid::idl_hash("schema_version"));
    match field.map(|f| &f.val) {
        Some(candid::types::value::IDLValue::Nat32(v)) => *v,
        other => panic!("config.schema_version: {other:?}"),
    }
}

fn chain_valid(env: &mut dyn Env, canister: Principal) {
    let total = audit_len(env, canister);
    let check: interfaces::audit::ChainCheck = query1(env, canister, Principal::anonymous(), "verify_audit_log", (0u64, total));
    assert_eq!(check, interfaces::audit::ChainCheck::Valid { checked: total }, "{canister}");
}

/// A suite of a previous release (its wasm kept under `tests/fixtures/release-<tag>/`, built from
/// the tagged commit with `scripts/build.sh`), with the whole rollout's data in it, upgraded canister by
/// canister to this release: every record survives (the report is consistent with what the
/// rollout did), each audit chain still verifies and keeps its entries, reporting carries on in
/// sequence — and going back to the previous release is refused wherever the stored schema is newer.
fn upgrade_from_release(env: &mut dyn Env, release: &str) {
    let (suite, done) = with_wasm_dir(release_dir(release), || deploy_and_roll_out(env));
    let canisters = [(suite.registry, "subnet_registry"), (suite.issuer, "license_issuer"), (suite.messaging, "messaging"), (suite.ledger, "burn_ledger")];
    let lengths: Vec<u64> = canisters.iter().map(|(c, _)| audit_len(env, *c)).collect();
    let mut newer_schema = Vec::new();
    for (canister, name) in canisters {
        let before = schema_version(env, canister);
        upgrade(env, canister, name);
        if schema_version(env, canister) > before {
            newer_schema.push((canister, name));
        }
    }
    let report = checkpoint::fetch(env, suite, done.subnet.id);
    assert_report_consistent(&report, &done);
    for ((canister, name), before) in canisters.iter().zip(lengths) {
        chain_valid(env, *canister);
        assert!(audit_len(env, *canister) >= before, "{name} lost audit entries");
    }
    env.advance_time(rollout::REPORT_INTERVAL);
    env.tick();
    for r in [suite.registry, suite.issuer, suite.messaging] {
        let info = ledger_view(env, suite.ledger, r);
        assert!(info.reports >= 2 && info.missing_sequences == 0, "{r}: {info:?}");
    }
    // Going back is refused wherever this release stores a newer schema (an equal schema may go back).
    for (canister, name) in newer_schema {
        let old = with_wasm_dir(release_dir(release), || wasm(name));
        let refused = env.upgrade(canister, &old, candid::encode_one(None::<()>).unwrap());
        assert!(refused.as_ref().is_err_and(|r| r.message.contains("downgrade")), "{name}: downgrade not refused: {refused:?}");
    }
    // The refused downgrades left the current code running.
    assert_report_consistent(&checkpoint::fetch(env, suite, done.subnet.id), &done);
}
fn upgrade_from_v0_1_0(env: &mut dyn Env) {
    upgrade_from_release(env, "v0.1.0");
}
scenario!(upgrade_from_v0_1_0);

fn upgrade_from_v0_2_0(env: &mut dyn Env) {
    upgrade_from_release(env, "v0.2.0");
}
scenario!(upgrade_from_v0_2_0);

/// Re-running deploy-local.sh on a live suite does not undo governance: an authority added by a
/// proposal survives an upgrade without an argument (what the script sends unless told
/// `--reconfigure`), and an explicit reconfiguration is applied and audited with before and after.
fn a_redeploy_keeps_what_governance_changed(env: &mut dyn Env) {
    use interfaces::subnet_registry::{Config, ProposalChange};
    use suite_tests::scenarios::subnet_registry as sr;
    let authorities = sr::authorities();
    let [registry, ..] = deploy_script::install_like_deploy_script(env, &authorities, 2);
    let newcomer = li::principal(0x66, 1);
    let proposal = sr::submit(env, registry, authorities[0], ProposalChange::AddAuthority { authority: newcomer }).unwrap();
    sr::approve(env, registry, authorities[1], proposal.id).unwrap();
    let config: Config = query1(env, registry, Principal::anonymous(), "config", ());
    assert!(config.authorities.contains(&newcomer));
    // A redeploy: upgrade with `null`.
    let before = audit_len(env, registry);
    upgrade(env, registry, "subnet_registry");
    let kept: Config = query1(env, registry, Principal::anonymous(), "config", ());
    assert_eq!(kept, config, "the stored configuration is kept");
    assert_eq!(audit_len(env, registry), before, "nothing to audit");
    // An explicit reconfiguration with the script's arguments: applied, audited.
    let ids = [registry, li::principal(0x67, 1), li::principal(0x67, 2), li::principal(0x67, 3)];
    let text = deploy_script::deploy_script_arg("subnet_registry", &authorities, 2, ids);
    let arg = candid_parser::parse_idl_args(&text).unwrap();
    let (types, actor) = deploy_script::interface("subnet_registry");
    let bytes = arg.to_bytes_with_types(&types, &deploy_script::init_types(&actor, "subnet_registry")).unwrap();
    env.upgrade(registry, &wasm("subnet_registry"), bytes).unwrap();
    let now: Config = query1(env, registry, Principal::anonymous(), "config", ());
    assert!(!now.authorities.contains(&newcomer));
    let page: interfaces::audit::AuditPage =
        query1(env, registry, Principal::anonymous(), "audit_log", (interfaces::audit::PageRequest { start: Some(before), limit: None },));
    assert_eq!(page.entries.iter().map(|e| e.kind.as_str()).collect::<Vec<_>>(), ["reconfigured"]);
    chain_valid(env, registry);
}
scenario!(a_redeploy_keeps_what_governance_changed);
