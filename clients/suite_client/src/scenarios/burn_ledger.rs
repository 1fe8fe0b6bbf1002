//! Rollout steps for `burn_ledger`: installing it beside the registry and the license issuer,
//! setting the ICP/XDR rate, and the reusable usage step — every reporter reports one hour of
//! consumption — that the tests and the demo's burn checkpoint both run.

use crate::actors::actor;
use crate::scenarios::license_issuer::{self as lic, deploy_licensing, LicensingSuite};
use crate::call::{query1, update1};
use crate::env::Env;
use crate::wasm::wasm;
use candid::{encode_one, Principal};
use interfaces::license_issuer as li;
use interfaces::burn_ledger::{
    Amounts, BurnCheckpoint, BurnError, ConversionRate, InitArgs, IssuanceModel, ReportReceipt, ReporterInfo, Scope,
    UsageReport,
};
use std::time::Duration;

/// The ledger's authority in these scenarios (sets the rate and the issuance model).
pub fn ledger_authority() -> Principal {
    actor("burn-ledger-authority")
}

/// The CMC's rate in the scenarios: 1 ICP = 3.5 XDR.
pub const XDR_PERMYRIAD_PER_ICP: u64 = 35_000;

/// 1 XDR in cycles.
pub const CYCLES_PER_XDR: u128 = 1_000_000_000_000;

/// Install arguments wired to the given peers. `self_report_seconds` is how often the ledger
/// reports its own usage (7 days keeps it out of a short scenario's hand-computed figures).
pub fn ledger_args(registry: Option<Principal>, issuer: Option<Principal>, reporters: Vec<Principal>, self_report_seconds: Option<u64>) -> InitArgs {
    InitArgs {
        authorities: vec![ledger_authority()],
        subnet_registry: registry,
        license_issuer: issuer,
        reporters,
        network_target_milli_xdr_per_second: None,
        usage_report_interval_seconds: self_report_seconds,
        attribution_cache_ttl_seconds: None,
        attribution_retry_interval_seconds: None,
    }
}

/// Installs the ledger into a canister created beforehand (peers may need its id first).
pub fn install_ledger(env: &mut dyn Env, canister: Principal, args: InitArgs) {
    let backend = env.backend();
    env.install(canister, &wasm("burn_ledger"), encode_one(Some(args)).expect("encode InitArgs"))
        .unwrap_or_else(|r| panic!("[{backend}] installing burn_ledger into {canister}: {r}"));
}

pub fn report_usage(env: &mut dyn Env, ledger: Principal, reporter: Principal, report: UsageReport) -> Result<ReportReceipt, BurnError> {
    update1(env, ledger, reporter, "report_usage", (report,))
}

/// A report without detail.
pub fn usage(sequence: u64, period_start_ns: u64, period_end_ns: u64, cycles_consumed: u128) -> UsageReport {
    UsageReport { sequence, period_start_ns, period_end_ns, cycles_consumed, instructions: None, bytes_stored: None, messages_handled: None }
}

/// The authority sets the rate, stamped with the current time.
pub fn set_rate(env: &mut dyn Env, ledger: Principal, xdr_permyriad_per_icp: u64) {
    let rate = ConversionRate { xdr_permyriad_per_icp, timestamp_seconds: env.now_ns() / 1_000_000_000 };
    let r: Result<(), BurnError> = update1(env, ledger, ledger_authority(), "set_conversion_rate", (rate,));
    r.unwrap_or_else(|e| panic!("set_conversion_rate: {e:?}"));
}

pub fn set_model(env: &mut dyn Env, ledger: Principal, model: IssuanceModel) {
    let r: Result<(), BurnError> = update1(env, ledger, ledger_authority(), "set_issuance_model", (model,));
    r.unwrap_or_else(|e| panic!("set_issuance_model: {e:?}"));
}

pub fn totals(env: &mut dyn Env, ledger: Principal, scope: Scope) -> Amounts {
    query1(env, ledger, Principal::anonymous(), "totals", (scope,))
}

pub fn reporter_info(env: &mut dyn Env, ledger: Principal, reporter: Principal) -> Option<ReporterInfo> {
    query1(env, ledger, Principal::anonymous(), "reporter", (reporter,))
}

pub fn checkpoint(env: &mut dyn Env, ledger: Principal) -> BurnCheckpoint {
    query1(env, ledger, Principal::anonymous(), "burn_checkpoint", ())
}

/// A ledger wired to the real registry and issuer (Pakistan subnet live), with an app canister
/// registered through the issuer flow on that subnet and a messaging canister id as peer.
pub struct BurnSuite {
    pub licensing: LicensingSuite,
    pub messaging: Principal,
    pub ledger: Principal,
    /// Registered app canister, controlled by `holder`.
    pub app: Principal,
    pub holder: Principal,
    pub program_id: u64,
}

/// Deploys a [`BurnSuite`]; `edit` adjusts the ledger's install arguments (peers: registry,
/// issuer, messaging; own reports every `self_report_seconds`).
pub fn deploy_burn_suite(env: &mut dyn Env, self_report_seconds: Option<u64>, edit: impl FnOnce(&mut InitArgs)) -> BurnSuite {
    let licensing = deploy_licensing(env, 100, |_| {});
    let issuer = licensing.issuer;
    let policy = lic::create_policy(env, issuer, "builder", 365, 3);
    let inst = lic::create_institution(env, issuer, "NUST", li::Sector::Education);
    let manager = lic::principal(0x10, 1);
    let program = lic::create_program(env, issuer, inst.id, "NUST AI builders", 10, policy.id, manager);
    let holder = lic::principal(0x20, 1);
    let license = lic::offer(env, issuer, manager, program.id, holder).expect("offer");
    lic::accept(env, issuer, holder, license.id).expect("accept");
    let app = lic::holder_canister(env, holder);
    let input = li::AppInput { license_id: license.id, name: "exam results".into(), canister: app, subnet_id: licensing.live_subnet };
    lic::register_app(env, issuer, holder, input).expect("register_app");
    let messaging = env.create_canister();
    let ledger = env.create_canister();
    let mut args = ledger_args(Some(licensing.registry), Some(issuer), vec![licensing.registry, issuer, messaging], self_report_seconds);
    edit(&mut args);
    install_ledger(env, ledger, args);
    BurnSuite { licensing, messaging, ledger, app, holder, program_id: program.id }
}

/// Sends one usage report as `reporter` and returns the ledger's answer.
pub type SendReport<'a> = dyn FnMut(&mut dyn Env, Principal, UsageReport) -> Result<ReportReceipt, BurnError> + 'a;

/// The usage step: one hour passes, then each `(reporter, cycles)` reports the hour it just
/// consumed, with its next sequence number, the period starting where its last one ended.
/// Returns each receipt (panics on a refusal, naming the reporter).
pub fn report_one_hour(env: &mut dyn Env, ledger: Principal, usage_by_reporter: &[(Principal, u128)]) -> Vec<ReportReceipt> {
    report_one_hour_via(env, ledger, usage_by_reporter, &mut |env, reporter, report| report_usage(env, ledger, reporter, report))
}

/// [`report_one_hour`] with each report sent by `send` (e.g. relayed by the reporter canister).
pub fn report_one_hour_via(env: &mut dyn Env, ledger: Principal, usage_by_reporter: &[(Principal, u128)], send: &mut SendReport) -> Vec<ReportReceipt> {
    let hour_start = env.now_ns();
    env.advance_time(Duration::from_secs(3600));
    let now = env.now_ns();
    usage_by_reporter
        .iter()
        .map(|&(reporter, cycles)| {
            let (sequence, start) = match reporter_info(env, ledger, reporter) {
                Some(info) => (info.last_sequence + 1, info.last_period_end_ns.max(hour_start)),
                None => (1, hour_start),
            };
            send(env, reporter, usage(sequence, start, now, cycles)).unwrap_or_else(|e| panic!("report_usage from {reporter} refused: {e:?}"))
        })
        .collect()
}
