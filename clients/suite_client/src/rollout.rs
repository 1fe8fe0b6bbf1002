//! The Pakistan rollout, end to end: the four canisters deployed and wired to each other (as
//! `scripts/deploy-local.sh` does with dfx), then every step of the rollout through their real
//! endpoints. The full-rollout tests and `scripts/demo.sh` both run this code.

use crate::call::{deploy, query1, update1};
use crate::env::Env;
use crate::scenarios::{burn_ledger as bl, license_issuer as li, messaging as msg, subnet_registry as sr};
use candid::Principal;
use interfaces::burn_ledger::{BurnError, ReportReceipt, UsageReport};
use std::time::Duration;

/// The four canisters of one deployment.
pub use crate::Suite;

/// Pakistan's license cap.
pub const SEAT_CAP: u32 = 1_500;
/// Citizens in the messaging part of the rollout (the group holds them all and the ministry).
pub const CITIZENS: u16 = 20;
/// How often each suite canister reports its own usage (the install default: one hour).
pub const REPORT_INTERVAL: Duration = Duration::from_secs(3600);

/// Creates the four canisters, then installs each with its peers' ids: the registry records
/// placements for the issuer; the registry, issuer and messenger report to the ledger; the
/// ledger asks the registry and the issuer to attribute burn.
pub fn deploy_suite(env: &mut dyn Env) -> Suite {
    let suite = Suite {
        registry: env.create_canister(),
        issuer: env.create_canister(),
        messaging: env.create_canister(),
        ledger: env.create_canister(),
    };
    sr::install_registry(env, suite.registry, vec![suite.issuer], Some(suite.ledger));
    install_issuer(env, suite);
    msg::install_messaging(env, suite.messaging, msg::init_args(Some(suite.ledger)));
    let reporters = vec![suite.registry, suite.issuer, suite.messaging];
    bl::install_ledger(env, suite.ledger, bl::ledger_args(Some(suite.registry), Some(suite.issuer), reporters, None));
    suite
}

fn install_issuer(env: &mut dyn Env, suite: Suite) {
    let mut args = li::issuer_args(SEAT_CAP, suite.registry);
    args.burn_ledger = Some(suite.ledger);
    args.other_suite_canisters = Some(vec![suite.messaging]);
    let backend = env.backend();
    env.install(suite.issuer, &crate::wasm::wasm("license_issuer"), candid::encode_one(Some(args)).expect("encode InitArgs"))
        .unwrap_or_else(|r| panic!("[{backend}] installing license_issuer: {r}"));
}

/// What the rollout created, for the tests to check against the checkpoint report.
pub struct Rollout {
    pub subnet: interfaces::subnet_registry::Subnet,
    pub licenses: li::PakistanLicenses,
    pub messaging: msg::PakistanMessaging,
    /// The app canisters (running code: see [`deploy_app_canisters`]) and the cycles each
    /// reported for its first hour.
    pub app_usage: Vec<(Principal, u128)>,
}

/// Runs the rollout on a deployed suite, calling `progress` with one line per step.
pub fn run_rollout(env: &mut dyn Env, suite: Suite, progress: &mut dyn FnMut(&str)) -> Rollout {
    let subnet = bring_subnet_live(env, suite, progress);
    let licenses = allocate_licenses(env, suite, subnet.id, progress);
    let messaging = exchange_messages(env, suite, progress);
    let app_usage = report_usage(env, suite, &licenses, progress);
    Rollout { subnet, licenses, messaging, app_usage }
}

/// Data centres, providers and 13 nodes; the subnet proposed, approved by a quorum of the
/// registry's authorities, provisioned and live.
pub fn bring_subnet_live(env: &mut dyn Env, suite: Suite, progress: &mut dyn FnMut(&str)) -> interfaces::subnet_registry::Subnet {
    let config: interfaces::subnet_registry::Config = query1(env, suite.registry, Principal::anonymous(), "config", ());
    let authorities = config.authorities.len();
    progress(&format!("authorities: {authorities} registry authorities, quorum {} of {authorities}", config.quorum));
    let subnet = sr::pakistan_subnet(env, suite.registry);
    progress("registry: 13 data centres in 13 Pakistani cities, 13 node providers, 13 SEV nodes recorded");
    let proposal: Option<interfaces::subnet_registry::Proposal> = query1(env, suite.registry, Principal::anonymous(), "get_proposal", (subnet.created_by_proposal,));
    let approvals = proposal.map_or(0, |p| p.approvals.len());
    progress(&format!(
        "registry: \"{}\" proposed, approved by {approvals} of {authorities} authorities, provisioned, now {:?}",
        subnet.name, subnet.status
    ));
    subnet
}

/// Institutions and programs; offers accepted; the builders' app canisters created and
/// registered on the live subnet (each one a call from the issuer to the registry).
pub fn allocate_licenses(env: &mut dyn Env, suite: Suite, subnet_id: Principal, progress: &mut dyn FnMut(&str)) -> li::PakistanLicenses {
    let apps = deploy_app_canisters(env, li::pakistan_app_count());
    let licenses = li::pakistan_licenses(env, suite.issuer, subnet_id, &apps);
    let offered: usize = licenses.programs.iter().map(|p| p.offered.len()).sum();
    let accepted: usize = licenses.programs.iter().map(|p| p.accepted.len()).sum();
    let apps: usize = licenses.programs.iter().map(|p| p.apps.len()).sum();
    progress(&format!(
        "licenses: {} programs of {} institutions; {offered} offers, {accepted} accepted by their holders",
        licenses.programs.len(),
        licenses.report.by_institution.len()
    ));
    progress(&format!("licenses: {apps} apps registered, each placement recorded on the live subnet by the registry"));
    licenses
}

/// The ministry (verified) and citizens register keys and exchange encrypted messages, one to
/// one and in a group.
pub fn exchange_messages(env: &mut dyn Env, suite: Suite, progress: &mut dyn FnMut(&str)) -> msg::PakistanMessaging {
    let exchange = msg::pakistan_messaging(env, suite.messaging, CITIZENS);
    progress(&format!(
        "messaging: {} (verified) and {} citizens registered X25519 keys; {} encrypted messages sent, direct and in a group",
        msg::MINISTRY_NAME,
        exchange.citizens.len(),
        exchange.sent.len()
    ));
    exchange
}

/// The builders' apps: `count` canisters running the test fixture (tests/fixture), whose
/// `call_raw` lets each app send its own usage report to the ledger.
pub fn deploy_app_canisters(env: &mut dyn Env, count: usize) -> Vec<Principal> {
    let wasm = crate::wasm::fixture_wasm();
    (0..count).map(|_| deploy(env, &wasm, ())).collect()
}

/// The fixture's error record (`call_raw` returns it when the relayed call fails).
#[derive(candid::CandidType, serde::Deserialize, Debug)]
struct RelayError {
    code: u32,
    message: String,
}

/// `report` sent to the ledger by the app canister itself (its `call_raw` relays it), so the
/// ledger sees the app as the caller on every backend, a real replica included.
pub fn report_from_app(env: &mut dyn Env, ledger: Principal, app: Principal, report: UsageReport) -> Result<ReportReceipt, BurnError> {
    let arg = candid::encode_one(&report).expect("encode UsageReport");
    let relayed: Result<Vec<u8>, RelayError> = update1(env, app, Principal::anonymous(), "call_raw", (ledger, "report_usage", arg));
    let reply = relayed.unwrap_or_else(|e| panic!("app {app} could not reach the ledger: {e:?}"));
    candid::decode_one(&reply).unwrap_or_else(|e| panic!("decoding the ledger's reply to {app}: {e}"))
}

/// Cycles an app canister of the rollout burns in its first hour, by its position (a few
/// billion cycles: a light app).
pub fn app_hour_cycles(index: usize) -> u128 {
    2_000_000_000 + 750_000_000 * index as u128
}

/// The authority sets the rate; each app canister reports its first hour; the ledger attributes
/// it all to subnets and programs. Where time can pass (executor, PocketIC), the hour also
/// passes for the suite canisters, whose timers report what they really consumed.
pub fn report_usage(env: &mut dyn Env, suite: Suite, licenses: &li::PakistanLicenses, progress: &mut dyn FnMut(&str)) -> Vec<(Principal, u128)> {
    bl::set_rate(env, suite.ledger, bl::XDR_PERMYRIAD_PER_ICP);
    progress(&format!("burn: rate set by the authority: {} XDR-permyriad per ICP", bl::XDR_PERMYRIAD_PER_ICP));
    let app_usage: Vec<(Principal, u128)> = licenses
        .programs
        .iter()
        .flat_map(|p| p.apps.iter().map(|a| a.canister))
        .enumerate()
        .map(|(i, canister)| (canister, app_hour_cycles(i)))
        .collect();
    bl::report_one_hour_via(env, suite.ledger, &app_usage, &mut |env, app, report| report_from_app(env, suite.ledger, app, report));
    // The hour has passed: the suite canisters' timers report their measured consumption.
    env.tick();
    // A report recorded while its lookups were still in flight is attributed by the ledger's
    // retry timer.
    env.advance_time(Duration::from_secs(interfaces::burn_ledger::DEFAULT_ATTRIBUTION_RETRY_SECONDS));
    env.tick();
    let suite_canisters = [suite.registry, suite.issuer, suite.messaging, suite.ledger];
    let suite_reported = suite_canisters.iter().filter(|&&c| bl::reporter_info(env, suite.ledger, c).is_some_and(|i| i.reports > 0)).count();
    progress(&format!(
        "burn: {} app canisters reported an hour of usage; {suite_reported} of the 4 suite canisters have reported their own (each does so hourly)",
        app_usage.len()
    ));
    app_usage
}
