//! Candid types of `subnet_registry`.

use crate::audit::PageRequest;
use candid::{CandidType, Deserialize, Principal};
use serde::Serialize;

/// Install argument (init and upgrade). On upgrade, `None` keeps the stored configuration.
/// A refused argument traps the install or upgrade (the stored state is kept) with the
/// `ConfigError` named in the message.
#[derive(CandidType, Deserialize, Serialize, Clone, Debug, PartialEq, Eq)]
pub struct InitArgs {
    /// Principals that approve proposals and write data centre / provider / node records:
    /// 1 ..= MAX_AUTHORITIES (20, the bound the `AddAuthority` proposal enforces), distinct, not anonymous.
    pub authorities: Vec<Principal>,
    /// Approvals a proposal needs to execute (e.g. 2 of 3 authorities); 1 ..= authorities.
    pub quorum: u32,
    /// Canisters (the license issuer) allowed to record canister placements: at most
    /// MAX_PLACEMENT_RECORDERS (10), distinct, not anonymous.
    pub placement_recorders: Vec<Principal>,
    /// The burn ledger this canister reports its usage to (not anonymous); `None` disables reporting.
    pub burn_ledger: Option<Principal>,
    /// How long a proposal stays open before it expires (default 7 days).
    pub proposal_ttl_seconds: Option<u64>,
    /// How often usage is reported to the burn ledger (default 1 hour).
    pub usage_report_interval_seconds: Option<u64>,
}

/// The configuration in force, as stored.
#[derive(CandidType, Deserialize, Serialize, Clone, Debug, PartialEq, Eq)]
pub struct Config {
    pub schema_version: u32,
    pub authorities: Vec<Principal>,
    pub quorum: u32,
    pub placement_recorders: Vec<Principal>,
    pub burn_ledger: Option<Principal>,
    pub proposal_ttl_seconds: u64,
    pub usage_report_interval_seconds: u64,
}

// ---- Limits on inputs (every string and list a caller sends is bounded). ----

/// Longest name (subnet, node provider), in characters.
pub const MAX_NAME_LEN: u32 = 64;
/// Longest data-centre id (`[A-Za-z0-9_-]`), in characters.
pub const MAX_DATA_CENTRE_ID_LEN: u32 = 32;
/// Longest region path such as `Asia,PK,Islamabad`, in characters.
pub const MAX_REGION_LEN: u32 = 128;
/// Longest data-centre owner name, in characters.
pub const MAX_OWNER_LEN: u32 = 64;
/// Longest SEV chip id, in characters.
pub const MAX_SEV_CHIP_ID_LEN: u32 = 128;
/// Longest proposal summary, in characters.
pub const MAX_SUMMARY_LEN: u32 = 1_000;
/// Most nodes a subnet (and a policy's `max_nodes`) may have.
pub const MAX_SUBNET_NODES: u32 = 64;
/// Most admins a subnet may have.
pub const MAX_SUBNET_ADMINS: u32 = 20;
/// Most countries a topology policy may allow.
pub const MAX_ALLOWED_COUNTRIES: u32 = 50;
/// Most authorities the registry may have (install argument and `AddAuthority` alike).
pub const MAX_AUTHORITIES: u32 = 20;
/// Most placement recorders the install argument may name.
pub const MAX_PLACEMENT_RECORDERS: u32 = 10;
/// Most data centres the registry records.
pub const MAX_DATA_CENTRES: u32 = 1_000;
/// Most node providers the registry records.
pub const MAX_NODE_PROVIDERS: u32 = 1_000;
/// Most nodes the registry records.
pub const MAX_NODES: u32 = 5_000;
/// Most subnets the registry records (any status, `Proposed` included).
pub const MAX_SUBNETS: u32 = 500;
/// Most proposals open (undecided and unexpired) at once.
pub const MAX_OPEN_PROPOSALS: u32 = 100;
/// Most decided proposals kept: when a submission would keep more, the oldest decided one is
/// dropped (audited as `proposal_pruned`; its submission, votes and decision stay in the audit
/// log). Bounds what `list_proposals` scans.
pub const MAX_DECIDED_PROPOSALS: u32 = 2_000;
/// Most canister placements the registry records.
pub const MAX_PLACEMENTS: u32 = 100_000;
/// Most bytes of items one page of a `list_*` query carries (each item counted as if encoded
/// alone, so the reply stays well under the IC's 2 MiB limit whatever the records hold). A page
/// always carries at least one item when one is left, so paging always advances.
pub const MAX_PAGE_BYTES: u32 = 1_048_576;
/// The continents a region path may start with.
pub const CONTINENTS: [&str; 7] = ["Africa", "Antarctica", "Asia", "Europe", "North America", "Oceania", "South America"];

// ---- Records written by authorities: data centres, node providers, nodes. ----

/// A GPS position in decimal degrees (WGS 84).
#[derive(CandidType, Deserialize, Serialize, Clone, Copy, Debug, PartialEq)]
pub struct Gps {
    /// -90 ..= 90.
    pub latitude: f64,
    /// -180 ..= 180.
    pub longitude: f64,
}

/// What an authority sends to add or update a data centre.
#[derive(CandidType, Deserialize, Serialize, Clone, Debug, PartialEq)]
pub struct DataCentreInput {
    /// Short unique id, `[A-Za-z0-9_-]`, e.g. `isb1`.
    pub id: String,
    /// Region path `Continent,CC[,City...]`: the continent one of `Africa`, `Antarctica`, `Asia`,
    /// `Europe`, `North America`, `Oceania`, `South America` (exactly so written); `CC` equal to
    /// `country`; no empty part, control or bidi-override characters (1 ..= 128 characters).
    pub region: String,
    /// ISO 3166-1 alpha-2 code, upper case (e.g. `PK`): residency is judged on it.
    pub country: String,
    /// The company that owns the building: policies limit nodes per owner (1 ..= 64 characters,
    /// no control or bidi-override characters, not only spaces).
    pub owner: String,
    /// Where it is, if published.
    pub gps: Option<Gps>,
}

/// A data centre hosting nodes.
#[derive(CandidType, Deserialize, Serialize, Clone, Debug, PartialEq)]
pub struct DataCentre {
    /// Short unique id, e.g. `isb1`.
    pub id: String,
    /// Region path, e.g. `Asia,PK,Islamabad`.
    pub region: String,
    /// ISO 3166-1 alpha-2 country code: where a subnet's data physically is.
    pub country: String,
    /// Owner of the building (diversity is counted per owner, not only per data centre).
    pub owner: String,
    /// Optional GPS position.
    pub gps: Option<Gps>,
    /// When it was first recorded.
    pub created_at_ns: u64,
    /// When it was last changed.
    pub updated_at_ns: u64,
}

/// What an authority sends to add or update a node provider.
#[derive(CandidType, Deserialize, Serialize, Clone, Debug, PartialEq, Eq)]
pub struct NodeProviderInput {
    /// The provider's principal (as in the NNS registry).
    pub id: Principal,
    /// Display name (1 ..= 64 characters, no control or bidi-override characters, not only spaces).
    pub name: String,
    /// ISO 3166-1 alpha-2 country where the provider is established.
    pub country: String,
}

/// An organisation operating nodes.
#[derive(CandidType, Deserialize, Serialize, Clone, Debug, PartialEq, Eq)]
pub struct NodeProvider {
    /// The provider's principal.
    pub id: Principal,
    /// Display name.
    pub name: String,
    /// ISO 3166-1 alpha-2 country where the provider is established.
    pub country: String,
    /// When it was first recorded.
    pub created_at_ns: u64,
    /// When it was last changed.
    pub updated_at_ns: u64,
}

/// What an authority sends to add or update a node.
#[derive(CandidType, Deserialize, Serialize, Clone, Debug, PartialEq, Eq)]
pub struct NodeInput {
    /// The node's principal (node id).
    pub id: Principal,
    /// The provider operating it (must be recorded).
    pub provider: Principal,
    /// The data centre it stands in (must be recorded).
    pub data_centre: String,
    /// Id of its AMD SEV-SNP chip, if it has one: policies may require SEV.
    pub sev_chip_id: Option<String>,
}

/// A replica machine.
#[derive(CandidType, Deserialize, Serialize, Clone, Debug, PartialEq, Eq)]
pub struct Node {
    /// The node's principal (node id).
    pub id: Principal,
    /// The provider operating it.
    pub provider: Principal,
    /// The data centre it stands in.
    pub data_centre: String,
    /// AMD SEV-SNP chip id, if the node has one.
    pub sev_chip_id: Option<String>,
    /// The subnet it is a member of: a node belongs to at most one subnet.
    pub subnet_id: Option<Principal>,
    /// When it was first recorded.
    pub created_at_ns: u64,
    /// When it was last changed.
    pub updated_at_ns: u64,
}

// ---- Subnets and their topology policy. ----

/// Kind of subnet, as in the NNS registry.
#[derive(CandidType, Deserialize, Serialize, Clone, Copy, Debug, PartialEq, Eq)]
pub enum SubnetType {
    Application,
    CloudEngine,
    System,
}

/// How the subnet's canisters pay: normally, or free of charge (as on system subnets).
#[derive(CandidType, Deserialize, Serialize, Clone, Copy, Debug, PartialEq, Eq)]
pub enum CostSchedule {
    Normal,
    Free,
}

/// The topology a subnet must have to be (and stay) `Live`.
#[derive(CandidType, Deserialize, Serialize, Clone, Debug, PartialEq, Eq)]
pub struct TopologyPolicy {
    /// Fewest members (1 ..= max_nodes).
    pub min_nodes: u32,
    /// Most members (min_nodes ..= MAX_SUBNET_NODES).
    pub max_nodes: u32,
    /// At most this many members per node provider (1 for a sovereign subnet).
    pub max_nodes_per_provider: u32,
    /// At most this many members per data centre.
    pub max_nodes_per_data_centre: u32,
    /// At most this many members per data-centre owner.
    pub max_nodes_per_owner: u32,
    /// Countries member data centres may be in; empty means the subnet's jurisdiction only.
    pub allowed_countries: Vec<String>,
    /// Every member must have a SEV chip.
    pub sev_required: bool,
}

impl TopologyPolicy {
    /// The sovereign topology, like the Swiss subnet's: 13 nodes, one per node provider, data
    /// centre and data-centre owner, all in the jurisdiction, SEV required.
    pub fn sovereign() -> Self {
        TopologyPolicy {
            min_nodes: 13,
            max_nodes: 13,
            max_nodes_per_provider: 1,
            max_nodes_per_data_centre: 1,
            max_nodes_per_owner: 1,
            allowed_countries: vec![],
            sev_required: true,
        }
    }
}

/// A subnet: who runs it, where, under which policy, and where it is in its lifecycle.
#[derive(CandidType, Deserialize, Serialize, Clone, Debug, PartialEq, Eq)]
pub struct Subnet {
    /// Subnet id (principal), as in the NNS.
    pub id: Principal,
    /// Display name, e.g. `Pakistan sovereign subnet`.
    pub name: String,
    pub subnet_type: SubnetType,
    /// ISO 3166-1 alpha-2 country whose law governs the subnet.
    pub jurisdiction: String,
    pub status: SubnetStatus,
    /// Member node ids.
    pub members: Vec<Principal>,
    /// The topology it must comply with to be live.
    pub policy: TopologyPolicy,
    /// Principals allowed to deploy canisters on it (as on a rented subnet).
    pub admins: Vec<Principal>,
    pub cost_schedule: CostSchedule,
    /// The proposal that created it.
    pub created_by_proposal: u64,
    /// When the create proposal was submitted (status `Proposed`).
    pub created_at_ns: u64,
    /// When the create proposal executed (status `Approved`).
    pub approved_at_ns: Option<u64>,
    /// When provisioning started.
    pub provisioning_since_ns: Option<u64>,
    /// When it last became `Live`; `None` while not live.
    pub live_since_ns: Option<u64>,
    /// When it was last suspended; `None` unless suspended.
    pub suspended_since_ns: Option<u64>,
    /// When it was decommissioned.
    pub decommissioned_at_ns: Option<u64>,
    /// When the status last changed.
    pub status_changed_at_ns: u64,
}

/// One way a subnet's members break its topology policy.
#[derive(CandidType, Deserialize, Serialize, Clone, Debug, PartialEq, Eq)]
pub enum PolicyViolation {
    TooFewNodes { members: u32, min_nodes: u32 },
    TooManyNodes { members: u32, max_nodes: u32 },
    ProviderOverLimit { provider: Principal, nodes: u32, max: u32 },
    DataCentreOverLimit { data_centre: String, nodes: u32, max: u32 },
    OwnerOverLimit { owner: String, nodes: u32, max: u32 },
    /// A member's data centre is in a country the policy does not allow.
    NodeOutsideAllowedCountries { node_id: Principal, data_centre: String, country: String },
    /// SEV is required and this member has no SEV chip.
    NodeWithoutSev { node_id: Principal },
}

/// Members counted per provider.
#[derive(CandidType, Deserialize, Serialize, Clone, Debug, PartialEq, Eq)]
pub struct ProviderCount {
    pub provider: Principal,
    pub nodes: u32,
}

/// Members counted per data centre, owner or country.
#[derive(CandidType, Deserialize, Serialize, Clone, Debug, PartialEq, Eq)]
pub struct NamedCount {
    pub name: String,
    pub nodes: u32,
}

/// Where the members' data centres are, against the countries the policy allows.
#[derive(CandidType, Deserialize, Serialize, Clone, Debug, PartialEq, Eq)]
pub struct Residency {
    /// The countries allowed (the jurisdiction when the policy lists none).
    pub allowed_countries: Vec<String>,
    /// Members in an allowed country.
    pub resident_nodes: u32,
    /// Members outside them.
    pub non_resident_nodes: Vec<Principal>,
    /// True when every member is resident.
    pub all_resident: bool,
}

/// How many members have a SEV chip.
#[derive(CandidType, Deserialize, Serialize, Clone, Debug, PartialEq, Eq)]
pub struct SevCoverage {
    pub nodes_with_sev: u32,
    pub members: u32,
    pub required: bool,
}

/// "Is it really live, really sovereign": a subnet checked against its policy now.
#[derive(CandidType, Deserialize, Serialize, Clone, Debug, PartialEq, Eq)]
pub struct ComplianceReport {
    pub subnet_id: Principal,
    pub name: String,
    pub status: SubnetStatus,
    pub jurisdiction: String,
    pub live_since_ns: Option<u64>,
    pub policy: TopologyPolicy,
    pub members: u32,
    pub residency: Residency,
    pub by_provider: Vec<ProviderCount>,
    pub by_data_centre: Vec<NamedCount>,
    pub by_owner: Vec<NamedCount>,
    pub by_country: Vec<NamedCount>,
    pub sev: SevCoverage,
    /// Each way the members break the policy; empty means compliant.
    pub violations: Vec<PolicyViolation>,
    pub compliant: bool,
    /// When the report was computed.
    pub generated_at_ns: u64,
}

// ---- Governance: proposals approved by a quorum of authorities. ----

/// The subnet a `CreateSubnet` proposal would create.
#[derive(CandidType, Deserialize, Serialize, Clone, Debug, PartialEq, Eq)]
pub struct CreateSubnetArgs {
    pub subnet_id: Principal,
    /// 1 ..= 64 characters, no control or bidi-override characters, not only spaces.
    pub name: String,
    pub subnet_type: SubnetType,
    /// ISO 3166-1 alpha-2 code.
    pub jurisdiction: String,
    /// Initial members (recorded nodes in no subnet and claimed by no other open proposal); may be empty.
    pub members: Vec<Principal>,
    pub policy: TopologyPolicy,
    pub admins: Vec<Principal>,
    pub cost_schedule: CostSchedule,
}

/// A sensitive change; it happens only when a proposal carrying it reaches the quorum.
#[derive(CandidType, Deserialize, Serialize, Clone, Debug, PartialEq, Eq)]
pub enum ProposalChange {
    /// Creates a subnet in `Proposed`; execution makes it `Approved` and assigns its members.
    CreateSubnet(CreateSubnetArgs),
    /// Adds and removes members. Refused if it would break a `Live` subnet's policy, or if a node
    /// to add is claimed by another open proposal.
    ChangeMembership { subnet_id: Principal, add: Vec<Principal>, remove: Vec<Principal> },
    /// Replaces the topology policy. Refused if a `Live` subnet would not comply.
    ChangePolicy { subnet_id: Principal, policy: TopologyPolicy },
    /// Moves the subnet along its lifecycle; becoming `Live` requires compliance.
    ChangeStatus { subnet_id: Principal, status: SubnetStatus },
    /// Replaces the subnet's admins.
    ChangeAdmins { subnet_id: Principal, admins: Vec<Principal> },
    AddAuthority { authority: Principal },
    /// Refused if fewer authorities than the quorum would remain.
    RemoveAuthority { authority: Principal },
}

/// What an authority submits. Submitting counts as the proposer's approval.
///
/// Counting: a proposal is decided on the approvals and rejections of the principals who are
/// authorities at that moment, against the quorum in force then. When the authorities change
/// (an `AddAuthority` / `RemoveAuthority` proposal executes, or an upgrade reconfigures
/// authorities or quorum), every open proposal is re-evaluated at once (after an upgrade: by a
/// timer right after it): one whose counted approvals reach the quorum executes (or fails), one
/// that can no longer reach it is `Rejected`. Votes of a former authority stay listed but do not
/// count (they count again if it becomes an authority again). At most MAX_OPEN_PROPOSALS are
/// open at once, and the latest MAX_DECIDED_PROPOSALS decided ones are kept (older ones live on
/// in the audit log).
#[derive(CandidType, Deserialize, Serialize, Clone, Debug, PartialEq, Eq)]
pub struct ProposalInput {
    /// Why (1 ..= MAX_SUMMARY_LEN characters).
    pub summary: String,
    pub change: ProposalChange,
}

/// Where a proposal is: open for votes, or decided (and then immutable).
#[derive(CandidType, Deserialize, Serialize, Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProposalState {
    Open,
    /// Reached the quorum and the change was made.
    Executed,
    /// Reached the quorum but the change was invalid by then; `execution_error` says why.
    Failed,
    /// So many authorities rejected it that the quorum can no longer be reached.
    Rejected,
    /// Not decided before `expires_at_ns`. Readers see it from that instant on (the state is
    /// computed at read time), before the sweep timer records it; votes on it are refused.
    Expired,
}

/// One authority's vote and when it was cast.
#[derive(CandidType, Deserialize, Serialize, Clone, Debug, PartialEq, Eq)]
pub struct Vote {
    pub authority: Principal,
    pub at_ns: u64,
}

/// A proposal with its full history.
#[derive(CandidType, Deserialize, Serialize, Clone, Debug, PartialEq, Eq)]
pub struct Proposal {
    pub id: u64,
    pub proposer: Principal,
    pub summary: String,
    /// The change it makes.
    pub change: ProposalChange,
    pub submitted_at_ns: u64,
    /// From this time on it reads as `Expired` and can no longer be voted on.
    pub expires_at_ns: u64,
    /// Approvals in order, the proposer's first.
    pub approvals: Vec<Vote>,
    pub rejections: Vec<Vote>,
    pub state: ProposalState,
    /// When it was executed, failed, rejected or expired.
    pub decided_at_ns: Option<u64>,
    /// Why execution failed (state `Failed`).
    pub execution_error: Option<RegistryError>,
}

// ---- Queries: filters and pages. ----

/// Data centres, optionally only those in one country.
#[derive(CandidType, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct DataCentreQuery {
    pub country: Option<String>,
    pub page: PageRequest,
}

/// One page of a `list_*` query. `items` holds at most `limit` records (default and cap 500)
/// and at most MAX_PAGE_BYTES of them, but at least one while records are left past `start`, so
/// `next_start` always lies past `start`. `limit = 0` returns no items and no `next_start`: it
/// reads `total` only.
#[derive(CandidType, Deserialize, Clone, Debug, PartialEq)]
pub struct DataCentrePage {
    pub items: Vec<DataCentre>,
    /// Matching records in all.
    pub total: u64,
    /// `start` of the next page, if there is one (always greater than the `start` asked for).
    pub next_start: Option<u64>,
}

/// A page, as `DataCentrePage` describes.
#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct NodeProviderPage {
    pub items: Vec<NodeProvider>,
    pub total: u64,
    pub next_start: Option<u64>,
}

/// Nodes, optionally filtered by provider, data centre and subnet.
#[derive(CandidType, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct NodeQuery {
    pub provider: Option<Principal>,
    pub data_centre: Option<String>,
    pub subnet_id: Option<Principal>,
    pub page: PageRequest,
}

/// A page, as `DataCentrePage` describes.
#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct NodePage {
    pub items: Vec<Node>,
    pub total: u64,
    pub next_start: Option<u64>,
}

/// Subnets, optionally filtered by status and jurisdiction.
#[derive(CandidType, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct SubnetQuery {
    pub status: Option<SubnetStatus>,
    pub jurisdiction: Option<String>,
    pub page: PageRequest,
}

/// A page, as `DataCentrePage` describes.
#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct SubnetPage {
    pub items: Vec<Subnet>,
    pub total: u64,
    pub next_start: Option<u64>,
}

/// Proposals in id order, optionally by state or by the subnet they change.
#[derive(CandidType, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct ProposalQuery {
    pub state: Option<ProposalState>,
    pub subnet_id: Option<Principal>,
    pub page: PageRequest,
}

/// A page, as `DataCentrePage` describes.
#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct ProposalPage {
    pub items: Vec<Proposal>,
    pub total: u64,
    pub next_start: Option<u64>,
}

/// Placements, optionally on one subnet.
#[derive(CandidType, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct PlacementQuery {
    pub subnet_id: Option<Principal>,
    pub page: PageRequest,
}

/// A page, as `DataCentrePage` describes.
#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct PlacementPage {
    pub items: Vec<Placement>,
    pub total: u64,
    pub next_start: Option<u64>,
}

// ---- Contract with peer canisters (license_issuer, burn_ledger). Extend, don't rename. ----

/// Lifecycle of a subnet: `Proposed → Approved → Provisioning → Live ⇄ Suspended → Decommissioned`.
#[derive(CandidType, Deserialize, Serialize, Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum SubnetStatus {
    Proposed,
    Approved,
    Provisioning,
    Live,
    Suspended,
    Decommissioned,
}

/// A canister recorded as running on a subnet.
#[derive(CandidType, Deserialize, Serialize, Clone, Debug, PartialEq, Eq)]
pub struct Placement {
    pub canister: Principal,
    pub subnet_id: Principal,
    /// The recorder (e.g. the license issuer) that recorded it.
    pub recorded_by: Principal,
    pub recorded_at_ns: u64,
}

/// Why a registry call was refused. Each variant carries what the caller needs to understand it;
/// a refused call changes nothing.
#[derive(CandidType, Deserialize, Serialize, Clone, Debug, PartialEq, Eq)]
pub enum RegistryError {
    /// The caller may not make this call (anonymous, not an authority, not a recorder, ...).
    NotAuthorized { caller: Principal, required: String },
    SubnetNotFound { subnet_id: Principal },
    /// Placements are only recorded on `Live` subnets.
    SubnetNotLive { subnet_id: Principal, status: SubnetStatus },
    /// The canister is already recorded on another subnet.
    CanisterAlreadyPlaced { canister: Principal, subnet_id: Principal },
    /// A text field is empty or longer than its limit (lengths in characters).
    InvalidText { field: String, length: u32, max: u32 },
    /// An identifier uses characters other than `[A-Za-z0-9_-]`.
    InvalidIdentifier { field: String, value: String },
    /// Not an ISO 3166-1 alpha-2 code (upper case, officially assigned).
    InvalidCountryCode { code: String },
    /// The region path is not `Continent,CC[,City...]` with a listed continent (`CONTINENTS`:
    /// Africa, Antarctica, Asia, Europe, North America, Oceania, South America) and `CC` equal to
    /// the country.
    InvalidRegion { region: String, country: String },
    /// Latitude must lie in -90..=90 and longitude in -180..=180.
    InvalidGps { data_centre: String },
    /// The anonymous principal cannot be used here.
    AnonymousPrincipal { field: String },
    /// A canister id is expected (10 bytes ending in 0x01); user, node and other principals are refused.
    NotACanister { field: String, principal: Principal },
    /// A name or path holds control, invisible-formatting or bidi-override characters, or only spaces.
    UnsafeText { field: String },
    /// A list (or a table: `data_centres`, `node_providers`, `nodes`, `subnets`, `open_proposals`,
    /// `placements`) is longer than its limit.
    TooManyItems { field: String, count: u32, max: u32 },
    /// A list names the same value twice (or in both `add` and `remove`).
    DuplicateInList { field: String, value: String },
    /// A policy number lies outside its allowed range.
    InvalidPolicy { field: String, value: u32, min: u32, max: u32 },
    DataCentreNotFound { id: String },
    DataCentreAlreadyExists { id: String },
    /// Nodes still stand in the data centre.
    DataCentreInUse { id: String, nodes: u32 },
    NodeProviderNotFound { provider: Principal },
    NodeProviderAlreadyExists { provider: Principal },
    /// The provider still operates nodes.
    NodeProviderInUse { provider: Principal, nodes: u32 },
    NodeNotFound { node_id: Principal },
    NodeAlreadyExists { node_id: Principal },
    /// The node is a member of a subnet (a node is in at most one subnet).
    NodeInSubnet { node_id: Principal, subnet_id: Principal },
    /// The node is not a member of this subnet.
    NodeNotInSubnet { node_id: Principal, subnet_id: Principal },
    SubnetAlreadyExists { subnet_id: Principal, status: SubnetStatus },
    /// The lifecycle does not allow this transition.
    InvalidTransition { subnet_id: Principal, from: SubnetStatus, to: SubnetStatus },
    /// The subnet cannot be changed in its status (still `Proposed`, or `Decommissioned`).
    SubnetNotModifiable { subnet_id: Principal, status: SubnetStatus },
    /// The change would leave the subnet live while breaking its policy; each violation named.
    PolicyViolated { subnet_id: Principal, violations: Vec<PolicyViolation> },
    /// The change changes nothing (e.g. a membership change with nothing to add or remove).
    NothingToChange,
    ProposalNotFound { id: u64 },
    /// The proposal was already decided.
    ProposalNotOpen { id: u64, state: ProposalState },
    ProposalExpired { id: u64, expired_at_ns: u64 },
    /// This authority already approved or rejected the proposal.
    AlreadyVoted { id: u64, authority: Principal },
    AuthorityAlreadyPresent { authority: Principal },
    AuthorityNotFound { authority: Principal },
    /// Removing the authority would leave fewer authorities than the quorum.
    QuorumUnreachable { authorities: u32, quorum: u32 },
    /// Another open proposal already claims this node (to create a subnet with it, or to add it
    /// to one): a node can be claimed by one open proposal at a time.
    NodeClaimedByProposal { node_id: Principal, proposal_id: u64 },
}
