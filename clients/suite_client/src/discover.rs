//! Finding the suite's four canisters among the canisters of a deployment, by asking each one
//! the query only its kind answers (and checking the reply's type).

use crate::call::checked_query1;
use crate::env::Env;
use crate::Suite;
use candid::Principal;
use interfaces::burn_ledger::BurnCheckpoint;
use interfaces::license_issuer::LicensingReport;
use interfaces::messaging::MessagingMetrics;
use interfaces::subnet_registry::{Subnet, SubnetPage, SubnetQuery};

/// The kinds of suite canister, with the query that identifies each.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Registry,
    Issuer,
    Messaging,
    Ledger,
}

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Kind::Registry => "subnet_registry",
            Kind::Issuer => "license_issuer",
            Kind::Messaging => "messaging",
            Kind::Ledger => "burn_ledger",
        }
    }
}

/// Which suite canister `id` is, if any.
pub fn kind_of(env: &mut dyn Env, id: Principal) -> Option<Kind> {
    let anyone = Principal::anonymous();
    if checked_query1::<_, SubnetPage>(env, id, anyone, "list_subnets", (SubnetQuery::default(),)).is_ok() {
        return Some(Kind::Registry);
    }
    if checked_query1::<_, LicensingReport>(env, id, anyone, "licensing_report", ()).is_ok() {
        return Some(Kind::Issuer);
    }
    if checked_query1::<_, MessagingMetrics>(env, id, anyone, "metrics", ()).is_ok() {
        return Some(Kind::Messaging);
    }
    if checked_query1::<_, BurnCheckpoint>(env, id, anyone, "burn_checkpoint", ()).is_ok() {
        return Some(Kind::Ledger);
    }
    None
}

/// The first canister of each kind among `ids` (in order); an error names the kinds missing.
pub fn find_suite(env: &mut dyn Env, ids: &[Principal]) -> Result<Suite, String> {
    let (mut registry, mut issuer, mut messaging, mut ledger) = (None, None, None, None);
    for &id in ids {
        let slot = match kind_of(env, id) {
            Some(Kind::Registry) => &mut registry,
            Some(Kind::Issuer) => &mut issuer,
            Some(Kind::Messaging) => &mut messaging,
            Some(Kind::Ledger) => &mut ledger,
            None => continue,
        };
        slot.get_or_insert(id);
        if registry.is_some() && issuer.is_some() && messaging.is_some() && ledger.is_some() {
            break;
        }
    }
    match (registry, issuer, messaging, ledger) {
        (Some(registry), Some(issuer), Some(messaging), Some(ledger)) => Ok(Suite { registry, issuer, messaging, ledger }),
        (r, i, m, l) => {
            let missing: Vec<&str> = [(r, Kind::Registry), (i, Kind::Issuer), (m, Kind::Messaging), (l, Kind::Ledger)]
                .iter()
                .filter(|(id, _)| id.is_none())
                .map(|(_, k)| k.name())
                .collect();
            Err(format!("no {} canister among the {} canisters", missing.join(", "), ids.len()))
        }
    }
}

/// Every subnet the registry knows (paging through `list_subnets`).
pub fn subnets(env: &mut dyn Env, registry: Principal) -> Result<Vec<Subnet>, crate::call::CallError> {
    let mut out = vec![];
    let mut start = None;
    loop {
        let query = SubnetQuery { page: interfaces::audit::PageRequest { start, limit: None }, ..Default::default() };
        let page: SubnetPage = checked_query1(env, registry, Principal::anonymous(), "list_subnets", (query,))?;
        out.extend(page.items);
        match page.next_start {
            Some(s) if Some(s) != start => start = Some(s),
            _ => return Ok(out),
        }
    }
}
