//! How much data each canister holds at each scale.
//!
//! Messaging users come in blocks of [`USERS_PER_CONVERSATION`]: conversation `k` only involves
//! users of block `k` (and the probe user), so a scale can be loaded users-first, then
//! conversations, then messages, and the reference state is a prefix of every larger one.

use serde::{Deserialize, Serialize};

/// Users per conversation block (a group has this many members, a direct uses two of them).
pub const USERS_PER_CONVERSATION: u64 = 10;
/// Conversations the probe user (the client whose pages are measured) is in: this many direct
/// conversations and this many groups, at every scale, so its pages compare across scales.
pub const PROBE_DIRECTS: u64 = 10;
pub const PROBE_GROUPS: u64 = 10;
/// One message in ten goes to the hot group (conversation index 1).
pub const HOT_SHARE: u64 = 10;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Scale {
    pub name: String,
    /// Registered messaging users (the probe user not counted).
    pub users: u64,
    /// Conversations: even indexes are direct, odd ones groups.
    pub conversations: u64,
    pub messages: u64,
    pub licenses: u64,
    /// App canisters registered through license_issuer (each a placement in the registry).
    pub apps: u64,
    /// Usage reports sent to burn_ledger by the app canisters, one per app per hour.
    pub reports: u64,
    pub nodes: u64,
    pub subnets: u64,
}

impl Scale {
    #[allow(clippy::too_many_arguments)]
    fn new(name: &str, users: u64, messages: u64, licenses: u64, apps: u64, reports: u64, nodes: u64, subnets: u64) -> Scale {
        Scale {
            name: name.into(),
            users,
            conversations: users / USERS_PER_CONVERSATION,
            messages,
            licenses,
            apps,
            reports,
            nodes,
            subnets,
        }
    }

    /// Where queries and upgrades are measured first: about 1,000 records per canister.
    pub fn reference() -> Scale {
        Scale::new("reference", 400, 1_000, 300, 700, 1_000, 20, 2)
    }

    /// CI: a few minutes of loading at most.
    pub fn small() -> Scale {
        Scale::new("small", 2_000, 6_000, 400, 1_000, 3_000, 20, 2)
    }

    /// One tenth of full for messaging and burn_ledger; licensing and the registry at full scale.
    pub fn medium() -> Scale {
        Scale::new("medium", 10_000, 100_000, 1_500, 5_000, 100_000, 100, 10)
    }

    /// Issue 14's full scale: one shard with 1M messages, 100K users and 10K conversations;
    /// 1,500 licenses with 5,000 apps; 1M usage reports; 100 nodes in 10 subnets.
    pub fn full() -> Scale {
        Scale::new("full", 100_000, 1_000_000, 1_500, 5_000, 1_000_000, 100, 10)
    }

    pub fn by_name(name: &str) -> Option<Scale> {
        match name {
            "small" => Some(Scale::small()),
            "medium" => Some(Scale::medium()),
            "full" => Some(Scale::full()),
            _ => None,
        }
    }

    pub fn nodes_per_subnet(&self) -> u64 {
        self.nodes / self.subnets.max(1)
    }

    /// Whether the reference state is a prefix of this scale.
    pub fn check(&self) -> Result<(), String> {
        let r = Scale::reference();
        let grows = self.users >= r.users
            && self.messages >= r.messages
            && self.licenses >= r.licenses
            && self.apps >= r.apps
            && self.reports >= r.reports
            && self.nodes >= r.nodes
            && self.subnets >= r.subnets;
        if !grows {
            return Err(format!("scale {} is smaller than the reference scale", self.name));
        }
        if self.conversations < 2 * PROBE_DIRECTS.max(PROBE_GROUPS) || !self.nodes.is_multiple_of(self.subnets) {
            return Err(format!("scale {}: too few conversations, or nodes not a multiple of subnets", self.name));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_scale_contains_the_reference() {
        for s in ["small", "medium", "full"] {
            Scale::by_name(s).unwrap().check().unwrap();
        }
        Scale::reference().check().unwrap();
        assert_eq!(Scale::full().conversations, 10_000);
    }
}
