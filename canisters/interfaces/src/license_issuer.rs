//! Candid types of `license_issuer`.

use crate::audit::PageRequest;
use crate::subnet_registry::{RegistryError, SubnetStatus};
use candid::{CandidType, Deserialize, Principal};
use serde::Serialize;

/// Install argument (init and upgrade). On upgrade, `None` keeps the stored configuration.
#[derive(CandidType, Deserialize, Serialize, Clone, Debug, PartialEq, Eq)]
pub struct InitArgs {
    /// Principals that create institutions and programs, set quotas and policies.
    pub authorities: Vec<Principal>,
    /// Seats that may ever be in use at once across all programs (1,500 for Pakistan).
    pub global_seat_cap: u32,
    /// The registry asked whether a subnet is live and told where apps are placed.
    pub subnet_registry: Option<Principal>,
    /// The burn ledger this canister reports its usage to; `None` disables reporting.
    pub burn_ledger: Option<Principal>,
    /// How long an offer may be accepted (default 14 days).
    pub offer_ttl_seconds: Option<u64>,
    /// Days without activity after which a seat may be reclaimed (default 90).
    pub idle_reclaim_days: Option<u32>,
    /// How often usage is reported to the burn ledger (default 1 hour).
    pub usage_report_interval_seconds: Option<u64>,
    /// Other canisters of the suite (messaging, its index and shards, ...) that can never be
    /// registered as an app (at most MAX_SUITE_CANISTERS). The issuer itself, the registry and
    /// the burn ledger are refused without being listed.
    pub other_suite_canisters: Option<Vec<Principal>>,
}

/// The configuration in force, as stored.
#[derive(CandidType, Deserialize, Serialize, Clone, Debug, PartialEq, Eq)]
pub struct Config {
    /// Version of the stored schema (checked on upgrade; a downgrade is refused).
    pub schema_version: u32,
    /// Principals that create policies, institutions and programs, set quotas and may act as any manager.
    pub authorities: Vec<Principal>,
    /// Seats (offered + active + suspended licenses) that may be in use at once across all programs.
    pub global_seat_cap: u32,
    /// The subnet registry that records app placements; `None` refuses app registration.
    pub subnet_registry: Option<Principal>,
    /// The burn ledger this canister reports its usage to; `None` disables reporting.
    pub burn_ledger: Option<Principal>,
    /// How long an offer may be accepted before it expires and its seat returns to the pool.
    pub offer_ttl_seconds: u64,
    /// Days without activity after which an active license is reclaimed.
    pub idle_reclaim_days: u32,
    /// How often usage is reported to the burn ledger.
    pub usage_report_interval_seconds: u64,
    /// Canisters of the suite besides the issuer, the registry and the burn ledger; never apps.
    /// (`opt`, so replies of earlier versions, which lack it, still decode.)
    #[serde(default)]
    pub other_suite_canisters: Option<Vec<Principal>>,
}

// ---- Limits on inputs (every string and list a caller sends is bounded). ----

/// Longest name of a policy, institution, program or app, in characters.
pub const MAX_NAME_LEN: u32 = 80;
/// Longest reason given for a suspension or revocation, in characters.
pub const MAX_REASON_LEN: u32 = 200;
/// Most managers a program may have.
pub const MAX_MANAGERS: u32 = 20;
/// Most apps a policy may entitle one license to.
pub const MAX_APPS_PER_LICENSE: u32 = 100;
/// Longest license term a policy may give, in days.
pub const MAX_DURATION_DAYS: u32 = 3_650;
/// Most policies, institutions and programs (each) the canister keeps. The institution and
/// program limits keep `licensing_report` (one line each) under the IC's 2 MiB reply limit.
pub const MAX_POLICIES: u32 = 200;
pub const MAX_INSTITUTIONS: u32 = 1_500;
pub const MAX_PROGRAMS: u32 = 1_500;
/// Most canisters `other_suite_canisters` may list.
pub const MAX_SUITE_CANISTERS: u32 = 100;
/// A page of a `list_*` query stops before its Candid encoding would pass this many bytes
/// (besides the count limit `MAX_PAGE`), so every page stays far below the 2 MiB reply limit.
pub const MAX_PAGE_BYTES: usize = 1 << 20;
/// Largest seat quota of one program.
pub const MAX_PROGRAM_QUOTA: u32 = 10_000_000;
/// Window in which a builder counts as active in reports.
pub const ACTIVE_BUILDER_WINDOW_DAYS: u64 = 30;

// ---- Policies ----

/// What an authority sends to create or change a policy.
#[derive(CandidType, Deserialize, Serialize, Clone, Debug, PartialEq, Eq)]
pub struct PolicyInput {
    /// Display name (1 ..= MAX_NAME_LEN characters), e.g. `Caffeine builder, 1 year`.
    pub name: String,
    /// Length of a license term from acceptance (or renewal), in days (1 ..= MAX_DURATION_DAYS).
    pub duration_days: u32,
    /// Entitlements granted to each license issued under the policy.
    pub entitlements: Entitlements,
}

/// What a license entitles its holder to.
#[derive(CandidType, Deserialize, Serialize, Clone, Debug, PartialEq, Eq)]
pub struct Entitlements {
    /// Apps the holder may register (0 ..= MAX_APPS_PER_LICENSE).
    pub max_apps: u32,
    /// Cycles the holder's apps may burn per month (reported to burn_ledger for attribution).
    pub monthly_cycles_quota: u64,
}

/// A license policy, like a license server's. Licenses are non-transferable: a license is bound
/// to the principal that accepted it. Issued licenses keep a snapshot of the terms in force when
/// they were issued; changing the policy changes only new licenses (and renewals an authority
/// asks to adopt the current terms).
#[derive(CandidType, Deserialize, Serialize, Clone, Debug, PartialEq, Eq)]
pub struct Policy {
    pub id: u64,
    pub name: String,
    pub duration_days: u32,
    pub entitlements: Entitlements,
    /// Starts at 1, incremented by every change: licenses record the version they snapshot.
    pub version: u32,
    pub created_at_ns: u64,
    pub updated_at_ns: u64,
}

// ---- Institutions and programs ----

/// What an authority sends to register an institution.
#[derive(CandidType, Deserialize, Serialize, Clone, Debug, PartialEq, Eq)]
pub struct InstitutionInput {
    /// Display name (1 ..= MAX_NAME_LEN characters), e.g. `NUST`.
    pub name: String,
    /// Reports group seats by sector.
    pub sector: Sector,
}

/// A government body, university, startup or other organisation that runs programs.
#[derive(CandidType, Deserialize, Serialize, Clone, Debug, PartialEq, Eq)]
pub struct Institution {
    pub id: u64,
    pub name: String,
    pub sector: Sector,
    /// Set by an authority once the institution is confirmed real; only verified institutions'
    /// programs may offer licenses.
    pub verified: bool,
    pub created_at_ns: u64,
    pub updated_at_ns: u64,
}

/// What an authority sends to create a program.
#[derive(CandidType, Deserialize, Serialize, Clone, Debug, PartialEq, Eq)]
pub struct ProgramInput {
    /// The institution running it.
    pub institution_id: u64,
    /// Display name (1 ..= MAX_NAME_LEN characters), e.g. `NUST AI builders 2025`.
    pub name: String,
    /// Seats the program may have in use at once (0 ..= MAX_PROGRAM_QUOTA). The sum of all
    /// quotas may exceed the global cap; seats in use never may.
    pub seat_quota: u32,
    /// Policy of the licenses it issues.
    pub policy_id: u64,
    /// Principals who offer, suspend, reinstate, revoke and renew its licenses (at most MAX_MANAGERS).
    pub managers: Vec<Principal>,
}

/// A named program of an institution with its own seat quota, policy and managers.
#[derive(CandidType, Deserialize, Serialize, Clone, Debug, PartialEq, Eq)]
pub struct Program {
    pub id: u64,
    pub institution_id: u64,
    pub name: String,
    pub seat_quota: u32,
    pub policy_id: u64,
    pub managers: Vec<Principal>,
    pub created_at_ns: u64,
    pub updated_at_ns: u64,
}

// ---- Licenses ----

/// Lifecycle: `Offered → Active ⇄ Suspended → Revoked | Expired`. Offered, active and suspended
/// licenses hold a seat; revoked and expired ones do not.
#[derive(CandidType, Deserialize, Serialize, Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum LicenseStatus {
    Offered,
    Active,
    Suspended,
    Revoked,
    Expired,
}

impl LicenseStatus {
    /// Whether a license in this status holds a seat of its program and of the global cap.
    pub fn holds_seat(self) -> bool {
        matches!(self, LicenseStatus::Offered | LicenseStatus::Active | LicenseStatus::Suspended)
    }
}

/// The policy terms a license was issued (or last renewed) under. Never changed by a policy edit.
#[derive(CandidType, Deserialize, Serialize, Clone, Debug, PartialEq, Eq)]
pub struct LicenseTerms {
    pub policy_id: u64,
    pub policy_version: u32,
    pub duration_days: u32,
    pub entitlements: Entitlements,
}

/// Why a license stopped holding a seat.
#[derive(CandidType, Deserialize, Serialize, Clone, Debug, PartialEq, Eq)]
pub enum EndReason {
    /// A manager or authority revoked it.
    Revoked { by: Principal, reason: String },
    /// No activity for `idle_days` days since `last_activity_ns`: the seat was reclaimed.
    IdleReclaimed { last_activity_ns: u64, idle_days: u32 },
    /// The offer was not accepted before it expired.
    OfferExpired,
    /// The term ended without renewal.
    TermEnded,
}

/// A seat offered to (and, once accepted, held by) one principal in one program.
#[derive(CandidType, Deserialize, Serialize, Clone, Debug, PartialEq, Eq)]
pub struct License {
    pub id: u64,
    pub program_id: u64,
    /// The principal the seat was offered to; only it may accept, and the license never moves
    /// to another principal (licenses are non-transferable).
    pub holder: Principal,
    /// The status at the time of the call. Timed transitions take effect at their deadline,
    /// whether or not the housekeeping timer has recorded them yet: an offer past its expiry
    /// reads `Expired` (`OfferExpired`), a term past its end `Expired` (`TermEnded`), and an
    /// active license without activity for `idle_reclaim_days` `Revoked` (`IdleReclaimed`),
    /// whichever deadline came first; `ended_at_ns` is that deadline.
    pub status: LicenseStatus,
    /// Snapshot of the policy terms.
    pub terms: LicenseTerms,
    /// The manager or authority who made the offer.
    pub offered_by: Principal,
    pub offered_at_ns: u64,
    /// After this time the offer can no longer be accepted and its seat returns to the pool.
    pub offer_expires_at_ns: u64,
    pub accepted_at_ns: Option<u64>,
    /// End of the current term (set on acceptance, extended by renewal).
    pub expires_at_ns: Option<u64>,
    /// Last time the holder did something with the license (accept, app, activity).
    pub last_activity_ns: u64,
    /// Why it is suspended, while it is.
    pub suspension_reason: Option<String>,
    /// Why it ended, once revoked or expired.
    pub end_reason: Option<EndReason>,
    pub ended_at_ns: Option<u64>,
    /// Apps registered under it (at most `terms.entitlements.max_apps`).
    pub app_ids: Vec<u64>,
    /// Number of renewals.
    pub renewals: u32,
}

/// Licenses, optionally filtered by program, holder and status, in id order.
#[derive(CandidType, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct LicenseQuery {
    pub program_id: Option<u64>,
    pub holder: Option<Principal>,
    pub status: Option<LicenseStatus>,
    pub page: PageRequest,
}

/// A page of a `list_*` query: at most `limit` items (default and cap MAX_PAGE), fewer if their
/// encoding would pass MAX_PAGE_BYTES. `limit = 0` returns no items and no next page, only `total`.
#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct LicensePage {
    pub items: Vec<License>,
    /// Matching licenses in all.
    pub total: u64,
    /// `start` of the next page, if there is one (always past `start` when set).
    pub next_start: Option<u64>,
}

#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct PolicyPage {
    pub items: Vec<Policy>,
    pub total: u64,
    pub next_start: Option<u64>,
}

#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct InstitutionPage {
    pub items: Vec<Institution>,
    pub total: u64,
    pub next_start: Option<u64>,
}

/// Programs, optionally of one institution, in id order.
#[derive(CandidType, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct ProgramQuery {
    pub institution_id: Option<u64>,
    pub page: PageRequest,
}

#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct ProgramPage {
    pub items: Vec<Program>,
    pub total: u64,
    pub next_start: Option<u64>,
}

// ---- Apps: the output of a license ----

/// What an active holder sends to register an app canister.
#[derive(CandidType, Deserialize, Serialize, Clone, Debug, PartialEq, Eq)]
pub struct AppInput {
    /// The caller's active license the app counts against.
    pub license_id: u64,
    /// Display name (1 ..= MAX_NAME_LEN characters).
    pub name: String,
    /// The app's canister id: a canister (not a user principal) that the caller controls, per
    /// the management canister's `canister_info`, and not one of the suite's own canisters. A
    /// canister is registered at most once.
    pub canister: Principal,
    /// The sovereign subnet it runs on; must be `Live` in the subnet registry.
    pub subnet_id: Principal,
}

/// A registered app: recorded only once its placement is recorded in the subnet registry.
#[derive(CandidType, Deserialize, Serialize, Clone, Debug, PartialEq, Eq)]
pub struct App {
    pub id: u64,
    pub name: String,
    pub canister: Principal,
    pub subnet_id: Principal,
    pub license_id: u64,
    pub program_id: u64,
    pub institution_id: u64,
    pub holder: Principal,
    pub registered_at_ns: u64,
    /// The module hash `canister_info` gave when the holder's control was checked (`None`: no
    /// code installed then).
    #[serde(default)]
    pub module_hash: Option<Vec<u8>>,
}

/// An app registration in flight (its calls are awaited), or one whose registry call ended
/// without a known outcome (kept until the holder retries).
#[derive(CandidType, Deserialize, Serialize, Clone, Debug, PartialEq, Eq)]
pub struct PendingApp {
    pub input: AppInput,
    pub holder: Principal,
    pub started_at_ns: u64,
    /// True when the registry call ended without a known outcome; registering the same app
    /// again resumes it (recording a placement is idempotent in the registry).
    pub outcome_unknown: bool,
    /// The module hash `canister_info` gave, once asked.
    #[serde(default)]
    pub module_hash: Option<Vec<u8>>,
}

/// Apps, optionally of one program or one license, in id order.
#[derive(CandidType, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct AppQuery {
    pub program_id: Option<u64>,
    pub license_id: Option<u64>,
    pub page: PageRequest,
}

#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct AppPage {
    pub items: Vec<App>,
    pub total: u64,
    pub next_start: Option<u64>,
}

// ---- Reports: the licensing checkpoint ----

/// Licenses counted by status, plus flows.
#[derive(CandidType, Deserialize, Serialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct SeatCounts {
    pub offered: u64,
    pub active: u64,
    pub suspended: u64,
    pub revoked: u64,
    pub expired: u64,
    /// Seats in use: offered + active + suspended.
    pub in_use: u64,
    /// Offers ever made.
    pub offers_made: u64,
    /// Offers ever accepted.
    pub offers_accepted: u64,
    /// Licenses reclaimed for inactivity (counted in `revoked`).
    pub idle_reclaimed: u64,
    /// Apps registered.
    pub apps: u64,
}

/// One program's line of the report.
#[derive(CandidType, Deserialize, Clone, Debug, PartialEq)]
pub struct ProgramReport {
    pub program_id: u64,
    pub name: String,
    pub institution_id: u64,
    pub sector: Sector,
    pub seat_quota: u32,
    pub seats: SeatCounts,
    /// offers_accepted / offers_made (0 when nothing was offered).
    pub activation_rate: f64,
    /// Active licenses of the program whose holder was active in the last 30 days.
    pub active_builders_30d: u64,
}

/// One institution's line of the report.
#[derive(CandidType, Deserialize, Clone, Debug, PartialEq)]
pub struct InstitutionReport {
    pub institution_id: u64,
    pub name: String,
    pub sector: Sector,
    pub verified: bool,
    pub programs: u64,
    /// Sum of its programs' quotas.
    pub seat_quota: u64,
    pub seats: SeatCounts,
    pub activation_rate: f64,
    pub active_builders_30d: u64,
}

/// One sector's line of the report.
#[derive(CandidType, Deserialize, Clone, Debug, PartialEq)]
pub struct SectorReport {
    pub sector: Sector,
    pub institutions: u64,
    pub programs: u64,
    pub seat_quota: u64,
    pub seats: SeatCounts,
    pub activation_rate: f64,
    pub active_builders_30d: u64,
}

/// The licensing checkpoint: are the seats tied to real programs, and what did they produce?
/// Figures are as of `generated_at_ns` (timed transitions included, see `License.status`). Every
/// count of a sector, institution or program line is an exact integer, and the lines add up to
/// `totals` (and `seats_in_use`, `apps_live`, `active_builders_30d`); rates are not summed.
#[derive(CandidType, Deserialize, Clone, Debug, PartialEq)]
pub struct LicensingReport {
    pub generated_at_ns: u64,
    pub global_seat_cap: u32,
    pub seats_in_use: u64,
    pub seats_available: u64,
    pub totals: SeatCounts,
    pub activation_rate: f64,
    /// Apps registered with their placement recorded.
    pub apps_live: u64,
    /// Active licenses whose holder was active in the last 30 days. Counted per license (a
    /// holder with licenses in two programs counts in each), so the program, institution and
    /// sector lines add up to it exactly.
    pub active_builders_30d: u64,
    pub by_sector: Vec<SectorReport>,
    pub by_institution: Vec<InstitutionReport>,
    pub by_program: Vec<ProgramReport>,
}

/// What one housekeeping run did (the timer runs it; bounded work per run).
#[derive(CandidType, Deserialize, Serialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct HousekeepingOutcome {
    pub offers_expired: u32,
    pub terms_ended: u32,
    pub idle_reclaimed: u32,
    /// True when the budget ran out before everything due was processed.
    pub more_due: bool,
}

// ---- Errors ----

/// Who may make a call that was refused.
#[derive(CandidType, Deserialize, Serialize, Clone, Debug, PartialEq, Eq)]
pub enum Role {
    Authority,
    /// A manager of the program, or an authority.
    ProgramManager { program_id: u64 },
    /// The principal the license was offered to.
    Holder { license_id: u64 },
}

/// Why a call was refused. A refused call changes nothing.
#[derive(CandidType, Deserialize, Serialize, Clone, Debug, PartialEq, Eq)]
pub enum LicenseError {
    /// Anonymous callers may only query.
    AnonymousCaller,
    NotAuthorized { caller: Principal, required: Role },
    /// A text is empty or longer than its limit (lengths in characters).
    InvalidText { field: String, length: u32, max: u32 },
    /// A list is longer than its limit.
    TooManyItems { field: String, count: u32, max: u32 },
    /// A list names the same principal twice.
    DuplicateInList { field: String, value: Principal },
    /// A number lies outside its allowed range.
    OutOfRange { field: String, value: u64, min: u64, max: u64 },
    /// The anonymous principal cannot be used here.
    AnonymousPrincipal { field: String },
    /// The canister keeps at most `max` records of this kind.
    TooManyRecords { kind: String, max: u32 },
    PolicyNotFound { policy_id: u64 },
    InstitutionNotFound { institution_id: u64 },
    ProgramNotFound { program_id: u64 },
    LicenseNotFound { license_id: u64 },
    /// Only verified institutions' programs may offer licenses.
    InstitutionNotVerified { institution_id: u64 },
    /// Every seat under the global cap is in use.
    GlobalCapReached { cap: u32, in_use: u64 },
    /// The program's quota is fully in use.
    ProgramQuotaReached { program_id: u64, quota: u32, in_use: u64 },
    /// A quota cannot be set below the seats the program has in use.
    QuotaBelowSeatsInUse { program_id: u64, quota: u32, in_use: u64 },
    /// The holder already has an offered, active or suspended license in the program.
    HolderAlreadyLicensed { holder: Principal, program_id: u64, license_id: u64 },
    /// The offer expired before it was accepted.
    OfferExpired { license_id: u64, expired_at_ns: u64 },
    /// The license is not in a status that allows this action.
    InvalidStatus { license_id: u64, status: LicenseStatus, action: String },
    /// Apps can only be registered under an active license.
    LicenseNotActive { license_id: u64, status: LicenseStatus },
    /// The license's entitlement is used up (registered + pending apps).
    AppLimitReached { license_id: u64, max_apps: u32, used: u32 },
    /// The canister is already registered as an app.
    CanisterAlreadyRegistered { canister: Principal, app_id: u64 },
    /// A registration of this canister is in progress (or its outcome is unknown: retry it
    /// with the same input, as its holder).
    RegistrationPending { canister: Principal, holder: Principal },
    /// Another call of the same holder or for the same canister is awaiting the registry.
    RegistrationInFlight { key: String },
    /// `config.subnet_registry` is not set: apps cannot be placed.
    RegistryNotConfigured,
    /// The registry could not be reached or failed (stopped, trapped, rejected): nothing was recorded.
    RegistryUnavailable { reject_code: u32, message: String },
    /// The target subnet is not live: nothing was recorded.
    SubnetNotLive { subnet_id: Principal, status: SubnetStatus },
    /// The registry refused the placement for another reason: nothing was recorded.
    RegistryRefused { error: RegistryError },
    /// The registry call ended without a known outcome and the follow-up check failed too. The
    /// slot stays reserved; calling `register_app` again with the same input resumes it.
    PlacementOutcomeUnknown { canister: Principal, subnet_id: Principal },
    /// An app must be a canister: `principal` is a user (self-authenticating), anonymous, the
    /// management canister or otherwise not a canister id.
    NotACanister { principal: Principal },
    /// The canister belongs to the suite itself (the issuer, the registry, the burn ledger or
    /// one of `other_suite_canisters`) and can never be a holder's app.
    SuiteCanister { canister: Principal },
    /// The management canister's `canister_info` does not list the caller among the canister's
    /// controllers: only a canister the holder controls can be its app.
    NotController { canister: Principal, caller: Principal },
    /// The management canister's `canister_info` failed (for instance: no such canister).
    CanisterInfoUnavailable { canister: Principal, reject_code: u32, message: String },
    /// Renewing on the current policy would leave the license more apps (registered, pending
    /// or in flight) than the new terms allow.
    AppsExceedEntitlement { license_id: u64, apps: u32, max_apps: u32 },
}

// ---- Contract with peer canisters (burn_ledger). Extend, don't rename. ----

/// Sector of an institution.
#[derive(CandidType, Deserialize, Serialize, Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Sector {
    Government,
    Education,
    Startup,
    Other,
}

/// Who owns an app canister: the answer burn_ledger needs to attribute burn to a program.
#[derive(CandidType, Deserialize, Serialize, Clone, Debug, PartialEq, Eq)]
pub struct AppOwner {
    pub canister: Principal,
    pub app_id: u64,
    pub license_id: u64,
    pub program_id: u64,
    pub institution_id: u64,
    pub sector: Sector,
    pub holder: Principal,
    pub subnet_id: Principal,
}
