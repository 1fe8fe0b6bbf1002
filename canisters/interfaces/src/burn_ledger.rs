//! Candid types of `burn_ledger`.

use candid::{CandidType, Deserialize, Nat, Principal};
use serde::Serialize;

/// Install argument (init and upgrade). On upgrade, `None` keeps the stored configuration.
#[derive(CandidType, Deserialize, Serialize, Clone, Debug, PartialEq, Eq)]
pub struct InitArgs {
    /// Principals that set the ICP/XDR rate and the issuance model.
    pub authorities: Vec<Principal>,
    /// Asked "which subnet is canister C on?".
    pub subnet_registry: Option<Principal>,
    /// Asked "which license / program owns canister C?" and "is C a known app?".
    pub license_issuer: Option<Principal>,
    /// Peers always accepted as reporters (the suite's canisters).
    pub reporters: Vec<Principal>,
    /// Network-wide Mission 70 burn target, in milli-XDR per second (default 770 = 0.77 XDR/s).
    pub network_target_milli_xdr_per_second: Option<u64>,
    /// How often this canister reports its own usage to itself (default 1 hour).
    pub usage_report_interval_seconds: Option<u64>,
    /// How long a looked-up placement / app owner is trusted before it is asked again
    /// (default 6 hours).
    pub attribution_cache_ttl_seconds: Option<u64>,
    /// How often the timer retries attributing burns whose lookups failed (default 5 minutes).
    pub attribution_retry_interval_seconds: Option<u64>,
}

/// The configuration in force, as stored.
#[derive(CandidType, Deserialize, Serialize, Clone, Debug, PartialEq, Eq)]
pub struct Config {
    /// Version of the stored schema (upgrades refuse to go back).
    pub schema_version: u32,
    /// Principals that set the ICP/XDR rate and the issuance model.
    pub authorities: Vec<Principal>,
    /// Asked where a canister is placed; `None`: burns are attributed to `UnknownSubnet`.
    pub subnet_registry: Option<Principal>,
    /// Asked who owns an app canister and whether an unknown caller is an app.
    pub license_issuer: Option<Principal>,
    /// Peers always accepted as reporters.
    pub reporters: Vec<Principal>,
    /// Network-wide Mission 70 burn target, milli-XDR per second.
    pub network_target_milli_xdr_per_second: u64,
    /// Period of this canister's own usage report.
    pub usage_report_interval_seconds: u64,
    /// How long a cached placement / app owner is trusted.
    #[serde(default = "default_cache_ttl")]
    pub attribution_cache_ttl_seconds: u64,
    /// Period of the attribution retry timer.
    #[serde(default = "default_retry_interval")]
    pub attribution_retry_interval_seconds: u64,
}

/// Default trust period of a cached placement / app owner: 6 hours.
pub const DEFAULT_ATTRIBUTION_CACHE_TTL_SECONDS: u64 = 6 * 3600;
/// Default period of the attribution retry timer: 5 minutes.
pub const DEFAULT_ATTRIBUTION_RETRY_SECONDS: u64 = 300;

fn default_cache_ttl() -> u64 {
    DEFAULT_ATTRIBUTION_CACHE_TTL_SECONDS
}

fn default_retry_interval() -> u64 {
    DEFAULT_ATTRIBUTION_RETRY_SECONDS
}

// ---- Contract with reporters (every suite canister and app canisters). Extend, don't rename. ----

/// Usage a reporter canister consumed over one period. `sequence` starts at 1 and increases by
/// one per report, so a retry (same sequence) is recognised and a gap is visible.
/// `report_usage` refuses a `cycles_consumed` beyond 128 bits with `ValueTooLarge`.
#[derive(CandidType, Deserialize, Serialize, Clone, Debug, PartialEq, Eq)]
pub struct UsageReport {
    pub sequence: u64,
    pub period_start_ns: u64,
    pub period_end_ns: u64,
    pub cycles_consumed: u128,
    pub instructions: Option<u64>,
    pub bytes_stored: Option<u64>,
    pub messages_handled: Option<u64>,
}

/// `report_usage`'s argument: the [`UsageReport`] record as it arrives. `cycles_consumed` is read
/// as an unbounded `nat`, so a value beyond 128 bits is refused with `ValueTooLarge` rather than
/// failing to decode; the wire format is the same (a reporter sends its `UsageReport`).
#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct UsageReportArg {
    pub sequence: u64,
    pub period_start_ns: u64,
    pub period_end_ns: u64,
    pub cycles_consumed: Nat,
    pub instructions: Option<u64>,
    pub bytes_stored: Option<u64>,
    pub messages_handled: Option<u64>,
}

impl From<UsageReport> for UsageReportArg {
    fn from(r: UsageReport) -> Self {
        UsageReportArg {
            sequence: r.sequence,
            period_start_ns: r.period_start_ns,
            period_end_ns: r.period_end_ns,
            cycles_consumed: Nat::from(r.cycles_consumed),
            instructions: r.instructions,
            bytes_stored: r.bytes_stored,
            messages_handled: r.messages_handled,
        }
    }
}

impl TryFrom<UsageReportArg> for UsageReport {
    type Error = BurnError;
    fn try_from(r: UsageReportArg) -> Result<Self, BurnError> {
        Ok(UsageReport {
            sequence: r.sequence,
            period_start_ns: r.period_start_ns,
            period_end_ns: r.period_end_ns,
            cycles_consumed: nat_to_u128("cycles_consumed", &r.cycles_consumed)?,
            instructions: r.instructions,
            bytes_stored: r.bytes_stored,
            messages_handled: r.messages_handled,
        })
    }
}

/// `value` as a `u128`, or `ValueTooLarge` naming `field`.
pub fn nat_to_u128(field: &str, value: &Nat) -> Result<u128, BurnError> {
    let bits = value.0.bits();
    if bits > 128 {
        return Err(BurnError::ValueTooLarge { field: field.into(), bits });
    }
    let mut le = [0u8; 16];
    let bytes = value.0.to_bytes_le();
    le[..bytes.len()].copy_from_slice(&bytes);
    Ok(u128::from_le_bytes(le))
}

/// What `report_usage` answers when a report is accepted (or recognised as a retry).
#[derive(CandidType, Deserialize, Serialize, Clone, Debug, PartialEq, Eq)]
pub struct ReportReceipt {
    /// The reporter's sequence number this receipt is for.
    pub sequence: u64,
    /// The burn record holding the report.
    pub burn_id: u64,
    /// True when this sequence was already recorded: the retry was acknowledged, not counted again.
    pub duplicate: bool,
    /// Sequence numbers skipped just before this report (recorded as a gap), if any.
    pub gap: Option<SequenceGap>,
    /// Whether the burn is attributed to a subnet and program yet (a timer retries otherwise).
    pub attributed: bool,
}

/// Why a burn-ledger call was refused. A refused call changes nothing.
#[derive(CandidType, Deserialize, Serialize, Clone, Debug, PartialEq, Eq)]
pub enum BurnError {
    /// Anonymous callers may only query.
    AnonymousCaller,
    /// The caller is neither a configured peer nor an app canister license_issuer knows.
    UnknownReporter { caller: Principal },
    /// The license issuer could not be asked whether the caller is an app canister; retry later.
    ReporterCheckUnavailable { caller: Principal, reason: String },
    /// Only an authority may do this.
    NotAuthority { caller: Principal },
    /// Sequence numbers start at 1.
    ZeroSequence,
    /// The sequence is not after the last recorded one and was never recorded (it lies in a gap).
    SequenceNotAfterLast { sequence: u64, last_sequence: u64 },
    /// This sequence was recorded with different content; a retry must resend the same report.
    ConflictingRetry { sequence: u64, burn_id: u64 },
    /// `period_end_ns` must be after `period_start_ns`.
    EmptyOrBackwardsPeriod { period_start_ns: u64, period_end_ns: u64 },
    /// The period starts before the end of this reporter's previous period.
    OverlappingPeriod { period_start_ns: u64, previous_period_end_ns: u64 },
    /// The period ends more than 300 s (the clock skew allowed) after the ledger's current time.
    PeriodInFuture { period_end_ns: u64, now_ns: u64 },
    /// One report may cover at most `max_seconds` (31 days).
    PeriodTooLong { seconds: u64, max_seconds: u64 },
    /// More cycles than any canister can burn in the period: at most 10^13 cycles (10 XDR) per
    /// second of the period, rounded up to whole seconds (`max` for this period).
    CyclesOutOfBounds { cycles: u128, max: u128 },
    /// A rate of zero ICP per XDR is meaningless.
    ZeroRate,
    /// The rate's timestamp is older than the rate in force, or more than 300 s (the clock skew
    /// allowed) after the ledger's current time.
    RateTimestampOutOfOrder { timestamp_seconds: u64, current_timestamp_seconds: u64, now_seconds: u64 },
    /// A `nat` argument needs `bits` bits; the ledger's figures are 128-bit.
    ValueTooLarge { field: String, bits: u64 },
    /// `after` in `list_totals` is not a scope of the family asked for.
    ScopeNotOfKind { after: Scope, kind: ScopeKind },
    /// An issuance-model field is out of its sane range.
    ModelOutOfRange { field: String, value: u128, min: u128, max: u128 },
    /// No burn with this id.
    BurnNotFound { burn_id: u64 },
    /// A window or page argument outside its allowed range.
    ArgumentOutOfRange { name: String, value: u64, min: u64, max: u64 },
    /// The same work is already running (e.g. an attribution retry); try again later.
    AlreadyInProgress { what: String },
}

/// Sequence numbers `first..=last` of a reporter that never arrived.
#[derive(CandidType, Deserialize, Serialize, Clone, Debug, PartialEq, Eq)]
pub struct SequenceGap {
    pub reporter: Principal,
    pub first: u64,
    pub last: u64,
    /// End of the period of the report before the gap.
    pub after_period_end_ns: u64,
    /// Start of the period of the report after the gap.
    pub before_period_start_ns: u64,
    pub detected_at_ns: u64,
}

/// The ICP/XDR rate: 1 ICP = `xdr_permyriad_per_icp` / 10,000 XDR, so one ICP buys
/// `xdr_permyriad_per_icp` × 10^8 cycles and 1 e8s of ICP = `xdr_permyriad_per_icp` cycles.
#[derive(CandidType, Deserialize, Serialize, Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConversionRate {
    pub xdr_permyriad_per_icp: u64,
    /// When the rate was observed (seconds since the epoch), as the CMC stamps it.
    pub timestamp_seconds: u64,
}

/// The issuance side of the Mission 70 meter. `set_issuance_model` refuses a
/// `total_supply_e8s` beyond 128 bits with `ValueTooLarge`.
#[derive(CandidType, Deserialize, Serialize, Clone, Copy, Debug, PartialEq, Eq)]
pub struct IssuanceModel {
    /// Gross minting per year, in basis points of supply (9.72 % today = 972).
    pub annual_gross_minting_bps: u32,
    /// Mission 70's target net inflation, in basis points (5.42 % = 542).
    pub target_net_inflation_bps: u32,
    /// ICP total supply, in e8s.
    pub total_supply_e8s: u128,
}

/// `set_issuance_model`'s argument: the [`IssuanceModel`] record as it arrives, with
/// `total_supply_e8s` read as an unbounded `nat` (beyond 128 bits: `ValueTooLarge`).
#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct IssuanceModelArg {
    pub annual_gross_minting_bps: u32,
    pub target_net_inflation_bps: u32,
    pub total_supply_e8s: Nat,
}

impl From<IssuanceModel> for IssuanceModelArg {
    fn from(m: IssuanceModel) -> Self {
        IssuanceModelArg {
            annual_gross_minting_bps: m.annual_gross_minting_bps,
            target_net_inflation_bps: m.target_net_inflation_bps,
            total_supply_e8s: Nat::from(m.total_supply_e8s),
        }
    }
}

impl TryFrom<IssuanceModelArg> for IssuanceModel {
    type Error = BurnError;
    fn try_from(m: IssuanceModelArg) -> Result<Self, BurnError> {
        Ok(IssuanceModel {
            annual_gross_minting_bps: m.annual_gross_minting_bps,
            target_net_inflation_bps: m.target_net_inflation_bps,
            total_supply_e8s: nat_to_u128("total_supply_e8s", &m.total_supply_e8s)?,
        })
    }
}

/// A burn attribution dimension. Per-subnet totals (`Subnet`, `UnknownSubnet`, `Unattributed`) and
/// per-program totals (`Program`, `NoProgram`, `Unattributed`) each add up to `Suite`.
#[derive(CandidType, Deserialize, Serialize, Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Scope {
    /// Everything reported to this ledger.
    Suite,
    /// One reporting canister.
    Canister(Principal),
    /// Burns of canisters placed on this subnet.
    Subnet(Principal),
    /// Attributed burns of canisters the registry has no placement for.
    UnknownSubnet,
    /// Burns of app canisters of this license program.
    Program(u64),
    /// Attributed burns of canisters that belong to no program (the suite's own canisters).
    NoProgram,
    /// Burns whose attribution lookups have not succeeded yet.
    Unattributed,
    /// In a checkpoint list only: the lines a full list leaves out, summed, so the list still
    /// adds up to the suite. Nothing is stored under it (`totals` of it is zero).
    Others,
}

/// Which family of scopes `list_totals` returns.
#[derive(CandidType, Deserialize, Serialize, Clone, Copy, Debug, PartialEq, Eq)]
pub enum ScopeKind {
    Canister,
    Subnet,
    Program,
}

/// Amounts summed over a scope and time span.
#[derive(CandidType, Deserialize, Serialize, Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Amounts {
    /// Cycles consumed (1 cycle = 10^-12 XDR).
    pub cycles: u128,
    /// The same in XDR millionths, rounded down.
    pub micro_xdr: u128,
    /// ICP equivalent in e8s, each burn at the rate in force when it was recorded, rounded down.
    pub icp_e8s: u128,
    /// Cycles recorded while no rate was set (not in `icp_e8s`).
    pub unpriced_cycles: u128,
    /// Number of reports (in a time bucket: the reports whose period ends in it).
    pub reports: u64,
}

/// Time-bucket size of a series.
#[derive(CandidType, Deserialize, Serialize, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Granularity {
    Hour,
    Day,
}

/// A series request: buckets of `scope` whose start lies in `[from_ns, to_ns)`, oldest first.
/// A page ends after `limit` buckets or before its reply would pass 1 MB; it holds at least one
/// bucket when any remains and `limit` > 0. Continue with `from_ns` = last `start_ns` + 1.
#[derive(CandidType, Deserialize, Serialize, Clone, Debug, PartialEq, Eq)]
pub struct SeriesRequest {
    pub scope: Scope,
    pub granularity: Granularity,
    pub from_ns: u64,
    pub to_ns: u64,
    /// At most this many buckets (default and cap 500; 0 gives an empty page).
    pub limit: Option<u32>,
}

/// One time bucket: an hour, or a UTC day (exactly the sum of its hours). A burn is spread
/// uniformly over its report's period, each bucket holding the part of the period it overlaps
/// (in integers: the parts add up exactly to the burn); `reports` counts a report in the bucket
/// its period ends in.
#[derive(CandidType, Deserialize, Serialize, Clone, Copy, Debug, PartialEq, Eq)]
pub struct Bucket {
    /// Start of the hour or day.
    pub start_ns: u64,
    pub amounts: Amounts,
}

/// Totals of one scope.
#[derive(CandidType, Deserialize, Serialize, Clone, Copy, Debug, PartialEq, Eq)]
pub struct ScopeTotals {
    pub scope: Scope,
    pub amounts: Amounts,
}

/// Where a burn was attributed.
#[derive(CandidType, Deserialize, Serialize, Clone, Debug, PartialEq, Eq)]
pub struct Attribution {
    /// The subnet the canister runs on, if the registry (or the license issuer) knows it.
    pub subnet_id: Option<Principal>,
    /// The app's license, program and institution, for app canisters.
    pub owner: Option<crate::license_issuer::AppOwner>,
    pub attributed_at_ns: u64,
}

/// One recorded usage report: the unit of the audit chain.
#[derive(CandidType, Deserialize, Serialize, Clone, Debug, PartialEq, Eq)]
pub struct BurnRecord {
    pub burn_id: u64,
    pub reporter: Principal,
    pub report: UsageReport,
    pub recorded_at_ns: u64,
    /// The rate used to compute `icp_e8s`; `None` when no rate was set.
    pub rate: Option<ConversionRate>,
    /// `cycles_consumed / xdr_permyriad_per_icp`, rounded down (0 without a rate).
    pub icp_e8s: u128,
    /// `None` while the lookups have not succeeded.
    pub attribution: Option<Attribution>,
    /// Failed attribution attempts so far.
    pub attribution_attempts: u32,
}

/// What the ledger knows about one reporter.
#[derive(CandidType, Deserialize, Serialize, Clone, Debug, PartialEq, Eq)]
pub struct ReporterInfo {
    pub reporter: Principal,
    pub last_sequence: u64,
    pub last_period_end_ns: u64,
    pub reports: u64,
    /// Sequence numbers that never arrived, summed over all gaps.
    pub missing_sequences: u64,
    pub gaps: u64,
}

/// Burn rate over a window and its share of the network-wide Mission 70 target.
#[derive(CandidType, Deserialize, Serialize, Clone, Copy, Debug, PartialEq, Eq)]
pub struct BurnRate {
    /// The window asked for, shortened to the whole seconds since the earliest reported period
    /// start (at least 1).
    pub window_seconds: u64,
    /// Cycles burned in the window (see `burn_rate` for how partial hours count).
    pub cycles_in_window: u128,
    /// Cycles per second = pico-XDR per second, rounded down.
    pub cycles_per_second: u128,
    /// XDR per second in millionths, rounded down.
    pub micro_xdr_per_second: u128,
    pub network_target_milli_xdr_per_second: u64,
    /// Share of the network target, in basis points, rounded down.
    pub share_of_target_bps: u128,
}

/// The Mission 70 meter: the suite's burn against the issuance model.
#[derive(CandidType, Deserialize, Serialize, Clone, Copy, Debug, PartialEq, Eq)]
pub struct Mission70Meter {
    pub burn_rate: BurnRate,
    pub rate: Option<ConversionRate>,
    pub model: IssuanceModel,
    /// ICP burned per (365-day) year at the current burn rate and ICP/XDR rate, in e8s.
    pub icp_e8s_burned_per_year: Option<u128>,
    /// That burn as basis points of supply per year, rounded down, in hundredths of a bp
    /// (1 = 0.0001 %), so small suites still show a number.
    pub burn_centi_bps_of_supply: Option<u128>,
    /// Gross minting minus this burn, in hundredths of a basis point (negative = deflation).
    pub net_inflation_centi_bps: Option<i128>,
    /// ICP per year the whole network must burn to meet the target, in e8s.
    pub network_target_icp_e8s_per_year: Option<u128>,
}

/// Per-dimension figures of the checkpoint report. In each list, every field of `amounts` and
/// `share_of_suite_bps` add up exactly to the suite's figure (10,000 bps when the suite burned
/// anything): `micro_xdr` and the share are apportioned by largest remainder, so a line's may be
/// one above its own rounded-down value.
#[derive(CandidType, Deserialize, Serialize, Clone, Copy, Debug, PartialEq, Eq)]
pub struct CheckpointLine {
    pub scope: Scope,
    pub amounts: Amounts,
    /// Share of the suite's cycles, basis points.
    pub share_of_suite_bps: u128,
}

/// The end-to-end "what does it burn" checkpoint.
#[derive(CandidType, Deserialize, Serialize, Clone, Debug, PartialEq, Eq)]
pub struct BurnCheckpoint {
    pub now_ns: u64,
    pub suite: Amounts,
    pub meter: Mission70Meter,
    /// Subnets (at most 500, in id order), then `Others` (the subnets left out), `UnknownSubnet`
    /// and `Unattributed`, each when non-zero. Adds up to `suite`.
    pub per_subnet: Vec<CheckpointLine>,
    /// Programs (at most 500, in id order), then `Others` (the programs left out), `NoProgram`
    /// and `Unattributed`, each when non-zero. Adds up to `suite`.
    pub per_program: Vec<CheckpointLine>,
    pub reporters: u64,
    pub pending_attribution: u64,
    pub missing_sequences: u64,
}

/// A page of scope totals of one family, in key order, after `after` if given (`after` must be
/// of the same family, else `ScopeNotOfKind`). A page ends after `limit` lines or before its
/// reply would pass 1 MB, holding at least one line when any remains and `limit` > 0.
/// Continue with `after` = the last scope returned.
#[derive(CandidType, Deserialize, Serialize, Clone, Debug, PartialEq, Eq)]
pub struct ListTotalsRequest {
    pub kind: ScopeKind,
    pub after: Option<Scope>,
    /// At most this many (default and cap 500; 0 gives an empty page).
    pub limit: Option<u32>,
}

/// A page of burn records, oldest first, from `start`: at most `limit` (default and cap 500; 0
/// gives an empty page) and never a reply past 1 MB; it holds at least one burn when any remains
/// at `start` and `limit` > 0. Continue from `start + burns.len()`.
#[derive(CandidType, Deserialize, Serialize, Clone, Debug, PartialEq, Eq)]
pub struct BurnPage {
    pub burns: Vec<BurnRecord>,
    /// Burns recorded in all.
    pub total: u64,
}
