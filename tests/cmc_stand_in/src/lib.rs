//! A stand-in for the NNS cycles minting canister's `create_canister`, for tests only. It speaks
//! the CMC's interface (rs/nns/cmc/cmc.did: `CreateCanisterArg`, `SubnetSelection`,
//! `CreateCanisterResult` with `Refunded`) and follows its rules where the suite depends on them:
//! - a subnet named in `subnet_selection` must be one the caller may create on: a subnet in
//!   the authorized map (a rented sovereign subnet) admits only the principals authorized for it;
//!   other subnets must be among the default subnets;
//! - the cycles attached pay for the canister: on success they go with it, on a refusal they
//!   are returned (not accepted) and the error says `Refunded`.
//!
//! On the executor every canister lives on one subnet, so the chosen subnet is recorded here
//! (`subnet_of`) rather than realised.

use candid::{CandidType, Deserialize, Nat, Principal};
use ic_cdk::call::Call;
use ic_management_canister_types::{CanisterIdRecord, CanisterSettings, CreateCanisterArgs};
use std::cell::RefCell;
use std::collections::BTreeMap;

#[derive(CandidType, Deserialize, Clone)]
pub struct InitArg {
    /// Subnets anyone may create on.
    pub default_subnets: Vec<Principal>,
    /// Subnets only some principals may create on: (principal, its subnets).
    pub authorized: Vec<(Principal, Vec<Principal>)>,
}

#[derive(CandidType, Deserialize)]
pub struct SubnetRecord {
    pub subnet: Principal,
}

#[derive(CandidType, Deserialize)]
pub struct SubnetFilter {
    pub subnet_type: Option<String>,
}

#[derive(CandidType, Deserialize)]
pub enum SubnetSelection {
    Subnet(SubnetRecord),
    Filter(SubnetFilter),
}

#[derive(CandidType, Deserialize)]
pub struct CreateCanisterArg {
    pub settings: Option<CanisterSettings>,
    pub subnet_type: Option<String>,
    pub subnet_selection: Option<SubnetSelection>,
}

#[derive(CandidType, Deserialize)]
pub enum CreateCanisterError {
    Refunded { refund_amount: Nat, create_error: String },
}

#[derive(CandidType, Deserialize)]
pub enum CreateCanisterResult {
    Ok(Principal),
    Err(CreateCanisterError),
}

thread_local! {
    static CONFIG: RefCell<Option<InitArg>> = const { RefCell::new(None) };
    static PLACED: RefCell<BTreeMap<Principal, Principal>> = const { RefCell::new(BTreeMap::new()) };
}

#[ic_cdk::init]
fn init(arg: InitArg) {
    CONFIG.set(Some(arg));
}

/// The subnet `caller` may create on for this selection, or why not.
fn choose(caller: Principal, selection: Option<SubnetSelection>) -> Result<Principal, String> {
    CONFIG.with_borrow(|c| {
        let c = c.as_ref().expect("initialised");
        let authorized: Vec<Principal> = c.authorized.iter().filter(|(p, _)| *p == caller).flat_map(|(_, s)| s.clone()).collect();
        let rented: Vec<Principal> = c.authorized.iter().flat_map(|(_, s)| s.clone()).collect();
        match selection {
            Some(SubnetSelection::Subnet(SubnetRecord { subnet })) => {
                if authorized.contains(&subnet) || (!rented.contains(&subnet) && c.default_subnets.contains(&subnet)) {
                    Ok(subnet)
                } else {
                    Err(format!("Caller {caller} is not authorized to create canisters on subnet {subnet}"))
                }
            }
            _ => authorized.first().or(c.default_subnets.first()).copied().ok_or_else(|| "no subnet available".to_string()),
        }
    })
}

#[ic_cdk::update]
async fn create_canister(arg: CreateCanisterArg) -> CreateCanisterResult {
    let caller = ic_cdk::api::msg_caller();
    let available = ic_cdk::api::msg_cycles_available();
    let subnet = match choose(caller, arg.subnet_selection) {
        Ok(s) => s,
        Err(create_error) => return CreateCanisterResult::Err(CreateCanisterError::Refunded { refund_amount: Nat::from(available), create_error }),
    };
    let cycles = ic_cdk::api::msg_cycles_accept(available);
    let settings = arg.settings.unwrap_or(CanisterSettings { controllers: Some(vec![caller]), ..Default::default() });
    let args = CreateCanisterArgs { settings: Some(settings), sender_canister_version: None };
    let created = Call::unbounded_wait(Principal::management_canister(), "create_canister").with_arg(&args).with_cycles(cycles).await;
    match created.map_err(|e| e.to_string()).and_then(|r| r.candid::<CanisterIdRecord>().map_err(|e| e.to_string())) {
        Ok(record) => {
            PLACED.with_borrow_mut(|p| p.insert(record.canister_id, subnet));
            CreateCanisterResult::Ok(record.canister_id)
        }
        // The management canister refused; the cycles came back to this canister, and the
        // real CMC would refund them: this stand-in keeps them (tests only).
        Err(e) => CreateCanisterResult::Err(CreateCanisterError::Refunded { refund_amount: Nat::from(0u8), create_error: e }),
    }
}

/// The subnet a canister was created "on" (the executor has one subnet).
#[ic_cdk::query]
fn subnet_of(canister: Principal) -> Option<Principal> {
    PLACED.with_borrow(|p| p.get(&canister).copied())
}
