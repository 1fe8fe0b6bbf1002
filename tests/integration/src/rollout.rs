//! The Pakistan rollout, end to end: the four canisters deployed and wired to each other (as
//! `scripts/deploy-local.sh` does with dfx), then every step of the rollout through their real
//! endpoints. The full-rollout tests and `scripts/demo.sh` both run this code.

use crate::env::Env;
use crate::scenarios::{burn_ledger as bl, license_issuer as li, messaging as msg, subnet_registry as sr};
use candid::Principal;
use std::time::Duration;

/// The four canisters of one deployment.
#[derive(Clone, Copy, Debug)]
pub struct Suite {
    pub registry: Principal,
    pub issuer: Principal,
    pub messaging: Principal,
    pub ledger: Principal,
}

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
    let backend = env.backend();
    env.install(suite.issuer, &crate::wasm::wasm("license_issuer"), candid::encode_one(Some(args)).expect("encode InitArgs"))
        .unwrap_or_else(|r| panic!("[{backend}] installing license_issuer: {r}"));
}

/// What the rollout created, for the tests to check against the checkpoint report.
pub struct Rollout {
    pub subnet: interfaces::subnet_registry::Subnet,
    pub licenses: li::PakistanLicenses,
    pub messaging: msg::PakistanMessaging,
    /// The app canisters and the cycles each reported for its first hour.
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

/// Data centres, providers and 13 nodes; the subnet proposed, approved by 2 of 3 authorities,
/// provisioned and live.
pub fn bring_subnet_live(env: &mut dyn Env, suite: Suite, progress: &mut dyn FnMut(&str)) -> interfaces::subnet_registry::Subnet {
    progress("authorities: 3 registry authorities, quorum 2 of 3");
    let subnet = sr::pakistan_subnet(env, suite.registry);
    progress("registry: 13 data centres in 13 Pakistani cities, 13 node providers, 13 SEV nodes recorded");
    let proposal: Option<interfaces::subnet_registry::Proposal> =
        crate::call::query1(env, suite.registry, Principal::anonymous(), "get_proposal", (subnet.created_by_proposal,));
    let approvals = proposal.map_or(0, |p| p.approvals.len());
    progress(&format!(
        "registry: \"{}\" proposed, approved by {approvals} of 3 authorities, provisioned, now {:?}",
        subnet.name, subnet.status
    ));
    subnet
}

/// Institutions and programs; offers accepted; apps registered on the live subnet (each one a
/// call from the issuer to the registry).
pub fn allocate_licenses(env: &mut dyn Env, suite: Suite, subnet_id: Principal, progress: &mut dyn FnMut(&str)) -> li::PakistanLicenses {
    let licenses = li::pakistan_licenses(env, suite.issuer, subnet_id);
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

/// Cycles an app canister of the rollout burns in its first hour, by its position (a few
/// billion cycles: a light app).
pub fn app_hour_cycles(index: usize) -> u128 {
    2_000_000_000 + 750_000_000 * index as u128
}

/// The authority sets the rate; an hour passes, so each suite canister's reporting timer sends
/// what it really consumed; the app canisters report their first hour; the ledger attributes it
/// all to subnets and programs.
pub fn report_usage(env: &mut dyn Env, suite: Suite, licenses: &li::PakistanLicenses, progress: &mut dyn FnMut(&str)) -> Vec<(Principal, u128)> {
    bl::set_rate(env, suite.ledger, bl::XDR_PERMYRIAD_PER_ICP);
    progress(&format!("burn: rate set by the authority: {} XDR-permyriad per ICP", bl::XDR_PERMYRIAD_PER_ICP));
    // The app canisters of the rollout are principals, not running code: the demo reports their
    // usage on their behalf, as their own usage reporter would.
    let app_usage: Vec<(Principal, u128)> = licenses
        .programs
        .iter()
        .flat_map(|p| p.apps.iter().map(|a| a.canister))
        .enumerate()
        .map(|(i, canister)| (canister, app_hour_cycles(i)))
        .collect();
    bl::report_one_hour(env, suite.ledger, &app_usage);
    // The hour has passed: the suite canisters' timers report their measured consumption.
    env.tick();
    // A report recorded while its lookups were still in flight is attributed by the ledger's
    // retry timer.
    env.advance_time(Duration::from_secs(interfaces::burn_ledger::DEFAULT_ATTRIBUTION_RETRY_SECONDS));
    env.tick();
    progress(&format!(
        "burn: {} apps reported an hour of usage; registry, issuer, messenger and ledger reported their own",
        app_usage.len()
    ));
    app_usage
}
