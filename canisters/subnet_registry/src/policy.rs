//! The topology policy checker: plain functions over the facts of a subnet's members, so the
//! rules are tested on their own and the same code judges proposals, record updates, going live
//! and the public compliance report.

use crate::validate;
use candid::Principal;
use interfaces::subnet_registry::{
    NamedCount, PolicyViolation, ProviderCount, RegistryError, Residency, SevCoverage, TopologyPolicy,
    MAX_ALLOWED_COUNTRIES, MAX_SUBNET_NODES,
};
use std::collections::BTreeMap;

/// What the policy needs to know about one member node.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MemberFacts {
    pub node_id: Principal,
    pub provider: Principal,
    pub data_centre: String,
    /// Owner of the node's data centre.
    pub owner: String,
    /// Country of the node's data centre.
    pub country: String,
    pub has_sev: bool,
}

/// A policy's own numbers must make sense before any subnet is judged against it.
pub fn validate_policy(policy: &TopologyPolicy) -> Result<(), RegistryError> {
    let range = |field: &str, value: u32, min: u32, max: u32| {
        if (min..=max).contains(&value) {
            Ok(())
        } else {
            Err(RegistryError::InvalidPolicy { field: field.into(), value, min, max })
        }
    };
    range("max_nodes", policy.max_nodes, 1, MAX_SUBNET_NODES)?;
    range("min_nodes", policy.min_nodes, 1, policy.max_nodes)?;
    range("max_nodes_per_provider", policy.max_nodes_per_provider, 1, policy.max_nodes)?;
    range("max_nodes_per_data_centre", policy.max_nodes_per_data_centre, 1, policy.max_nodes)?;
    range("max_nodes_per_owner", policy.max_nodes_per_owner, 1, policy.max_nodes)?;
    validate::count("policy.allowed_countries", policy.allowed_countries.len(), MAX_ALLOWED_COUNTRIES)?;
    let mut seen = std::collections::BTreeSet::new();
    for c in &policy.allowed_countries {
        validate::country(c)?;
        if !seen.insert(c) {
            return Err(RegistryError::DuplicateInList { field: "policy.allowed_countries".into(), value: c.clone() });
        }
    }
    Ok(())
}

/// The countries members may be in: the policy's list, or the jurisdiction when it lists none.
pub fn allowed_countries(policy: &TopologyPolicy, jurisdiction: &str) -> Vec<String> {
    if policy.allowed_countries.is_empty() {
        vec![jurisdiction.to_string()]
    } else {
        policy.allowed_countries.clone()
    }
}

/// Every way `members` break `policy`, in a fixed order: size, providers, data centres, owners,
/// residency (per node), SEV (per node). Empty means compliant.
pub fn check(policy: &TopologyPolicy, jurisdiction: &str, members: &[MemberFacts]) -> Vec<PolicyViolation> {
    let mut violations = Vec::new();
    let size = count_u32(members.len());
    if size < policy.min_nodes {
        violations.push(PolicyViolation::TooFewNodes { members: size, min_nodes: policy.min_nodes });
    }
    if size > policy.max_nodes {
        violations.push(PolicyViolation::TooManyNodes { members: size, max_nodes: policy.max_nodes });
    }
    let max = policy.max_nodes_per_provider;
    for (provider, nodes) in tally(members.iter().map(|m| m.provider)) {
        if nodes > max {
            violations.push(PolicyViolation::ProviderOverLimit { provider, nodes, max });
        }
    }
    let max = policy.max_nodes_per_data_centre;
    for (data_centre, nodes) in tally(members.iter().map(|m| m.data_centre.clone())) {
        if nodes > max {
            violations.push(PolicyViolation::DataCentreOverLimit { data_centre, nodes, max });
        }
    }
    let max = policy.max_nodes_per_owner;
    for (owner, nodes) in tally(members.iter().map(|m| m.owner.clone())) {
        if nodes > max {
            violations.push(PolicyViolation::OwnerOverLimit { owner, nodes, max });
        }
    }
    let allowed = allowed_countries(policy, jurisdiction);
    for m in members.iter().filter(|m| !allowed.contains(&m.country)) {
        violations.push(PolicyViolation::NodeOutsideAllowedCountries {
            node_id: m.node_id,
            data_centre: m.data_centre.clone(),
            country: m.country.clone(),
        });
    }
    if policy.sev_required {
        for m in members.iter().filter(|m| !m.has_sev) {
            violations.push(PolicyViolation::NodeWithoutSev { node_id: m.node_id });
        }
    }
    violations
}

/// The parts of a compliance report computed from members alone.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Assessment {
    pub residency: Residency,
    pub by_provider: Vec<ProviderCount>,
    pub by_data_centre: Vec<NamedCount>,
    pub by_owner: Vec<NamedCount>,
    pub by_country: Vec<NamedCount>,
    pub sev: SevCoverage,
    pub violations: Vec<PolicyViolation>,
}

/// Residency, diversity counts, SEV coverage and violations of `members` under `policy`.
pub fn assess(policy: &TopologyPolicy, jurisdiction: &str, members: &[MemberFacts]) -> Assessment {
    let allowed = allowed_countries(policy, jurisdiction);
    let non_resident_nodes: Vec<Principal> =
        members.iter().filter(|m| !allowed.contains(&m.country)).map(|m| m.node_id).collect();
    let named = |keys: Vec<String>| tally(keys).into_iter().map(|(name, nodes)| NamedCount { name, nodes }).collect();
    Assessment {
        residency: Residency {
            resident_nodes: count_u32(members.len() - non_resident_nodes.len()),
            all_resident: non_resident_nodes.is_empty(),
            non_resident_nodes,
            allowed_countries: allowed,
        },
        by_provider: tally(members.iter().map(|m| m.provider))
            .into_iter()
            .map(|(provider, nodes)| ProviderCount { provider, nodes })
            .collect(),
        by_data_centre: named(members.iter().map(|m| m.data_centre.clone()).collect()),
        by_owner: named(members.iter().map(|m| m.owner.clone()).collect()),
        by_country: named(members.iter().map(|m| m.country.clone()).collect()),
        sev: SevCoverage {
            nodes_with_sev: count_u32(members.iter().filter(|m| m.has_sev).count()),
            members: count_u32(members.len()),
            required: policy.sev_required,
        },
        violations: check(policy, jurisdiction, members),
    }
}

/// Members per key, in key order.
fn tally<K: Ord>(keys: impl IntoIterator<Item = K>) -> BTreeMap<K, u32> {
    let mut counts = BTreeMap::new();
    for k in keys {
        *counts.entry(k).or_insert(0u32) += 1;
    }
    counts
}

/// Member counts are bounded by MAX_SUBNET_NODES; saturate rather than wrap regardless.
fn count_u32(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(n: u8) -> Principal {
        Principal::from_slice(&[n; 29])
    }

    /// Member `i`: its own provider, data centre and owner, in Pakistan, with SEV.
    fn member(i: u8) -> MemberFacts {
        MemberFacts {
            node_id: p(100 + i),
            provider: p(i),
            data_centre: format!("dc{i}"),
            owner: format!("owner{i}"),
            country: "PK".into(),
            has_sev: true,
        }
    }

    fn thirteen() -> Vec<MemberFacts> {
        (0..13).map(member).collect()
    }

    #[test]
    fn thirteen_distinct_resident_sev_nodes_comply() {
        assert_eq!(check(&TopologyPolicy::sovereign(), "PK", &thirteen()), vec![]);
    }

    #[test]
    fn size_is_bounded_both_ways() {
        let twelve = &thirteen()[..12];
        assert_eq!(check(&TopologyPolicy::sovereign(), "PK", twelve), vec![PolicyViolation::TooFewNodes { members: 12, min_nodes: 13 }]);
        let mut fourteen = thirteen();
        fourteen.push(member(13));
        assert_eq!(check(&TopologyPolicy::sovereign(), "PK", &fourteen), vec![PolicyViolation::TooManyNodes { members: 14, max_nodes: 13 }]);
    }

    #[test]
    fn shared_provider_data_centre_and_owner_are_each_named() {
        let mut m = thirteen();
        m[1].provider = m[0].provider;
        m[2].data_centre = m[0].data_centre.clone();
        m[3].owner = "owner5".into();
        assert_eq!(
            check(&TopologyPolicy::sovereign(), "PK", &m),
            vec![
                PolicyViolation::ProviderOverLimit { provider: p(0), nodes: 2, max: 1 },
                PolicyViolation::DataCentreOverLimit { data_centre: "dc0".into(), nodes: 2, max: 1 },
                PolicyViolation::OwnerOverLimit { owner: "owner5".into(), nodes: 2, max: 1 },
            ]
        );
    }

    #[test]
    fn residency_defaults_to_the_jurisdiction_and_follows_an_explicit_list() {
        let mut m = thirteen();
        m[4].country = "AE".into();
        assert_eq!(
            check(&TopologyPolicy::sovereign(), "PK", &m),
            vec![PolicyViolation::NodeOutsideAllowedCountries { node_id: p(104), data_centre: "dc4".into(), country: "AE".into() }]
        );
        let mut regional = TopologyPolicy::sovereign();
        regional.allowed_countries = vec!["PK".into(), "AE".into()];
        assert_eq!(check(&regional, "PK", &m), vec![]);
        // An explicit list replaces the jurisdiction default.
        regional.allowed_countries = vec!["AE".into()];
        assert_eq!(check(&regional, "PK", &m).len(), 12);
    }

    #[test]
    fn sev_only_matters_when_required() {
        let mut m = thirteen();
        m[6].has_sev = false;
        assert_eq!(check(&TopologyPolicy::sovereign(), "PK", &m), vec![PolicyViolation::NodeWithoutSev { node_id: p(106) }]);
        let mut relaxed = TopologyPolicy::sovereign();
        relaxed.sev_required = false;
        assert_eq!(check(&relaxed, "PK", &m), vec![]);
    }

    #[test]
    fn looser_limits_allow_sharing() {
        let mut policy = TopologyPolicy::sovereign();
        policy.max_nodes_per_provider = 2;
        let mut m = thirteen();
        m[1].provider = m[0].provider;
        assert_eq!(check(&policy, "PK", &m), vec![]);
        m[2].provider = m[0].provider;
        assert_eq!(check(&policy, "PK", &m), vec![PolicyViolation::ProviderOverLimit { provider: p(0), nodes: 3, max: 2 }]);
    }

    #[test]
    fn assessment_counts_diversity_residency_and_sev() {
        let mut m = thirteen();
        m[0].country = "AE".into();
        m[1].has_sev = false;
        m[2].owner = "owner3".into();
        let a = assess(&TopologyPolicy::sovereign(), "PK", &m);
        assert_eq!(a.residency.allowed_countries, vec!["PK".to_string()]);
        assert_eq!(a.residency.resident_nodes, 12);
        assert_eq!(a.residency.non_resident_nodes, vec![p(100)]);
        assert!(!a.residency.all_resident);
        assert_eq!(a.by_provider.len(), 13);
        assert_eq!(a.by_owner.len(), 12);
        assert_eq!(a.by_owner.iter().find(|c| c.name == "owner3").unwrap().nodes, 2);
        assert_eq!(
            a.by_country,
            vec![NamedCount { name: "AE".into(), nodes: 1 }, NamedCount { name: "PK".into(), nodes: 12 }]
        );
        assert_eq!(a.sev, SevCoverage { nodes_with_sev: 12, members: 13, required: true });
        assert_eq!(a.violations.len(), 3);
    }

    #[test]
    fn policy_numbers_are_validated() {
        assert_eq!(validate_policy(&TopologyPolicy::sovereign()), Ok(()));
        let mut bad = TopologyPolicy::sovereign();
        bad.min_nodes = 14;
        assert_eq!(validate_policy(&bad), Err(RegistryError::InvalidPolicy { field: "min_nodes".into(), value: 14, min: 1, max: 13 }));
        let mut bad = TopologyPolicy::sovereign();
        bad.max_nodes = MAX_SUBNET_NODES + 1;
        assert!(matches!(validate_policy(&bad), Err(RegistryError::InvalidPolicy { field, .. }) if field == "max_nodes"));
        let mut bad = TopologyPolicy::sovereign();
        bad.max_nodes_per_owner = 0;
        assert!(matches!(validate_policy(&bad), Err(RegistryError::InvalidPolicy { field, .. }) if field == "max_nodes_per_owner"));
        let mut bad = TopologyPolicy::sovereign();
        bad.allowed_countries = vec!["PK".into(), "XX".into()];
        assert_eq!(validate_policy(&bad), Err(RegistryError::InvalidCountryCode { code: "XX".into() }));
        bad.allowed_countries = vec!["PK".into(), "PK".into()];
        assert!(matches!(validate_policy(&bad), Err(RegistryError::DuplicateInList { .. })));
    }
}
