//! What the commands print: text for people, JSON (`--json`) for scripts.

use candid::CandidType;
use interfaces::audit::{AuditPage, ChainCheck, PageRequest};
use serde_json::{json, Value};
use suite_client::checkpoint::CheckpointReport;
use suite_client::{checked_query1, CallError, Env, Principal, Suite};

/// The most entries `verify_audit_log` checks in one call.
const VERIFY_PAGE: u64 = 10_000;

pub fn named(suite: Suite) -> [(&'static str, Principal); 4] {
    [("subnet_registry", suite.registry), ("license_issuer", suite.issuer), ("messaging", suite.messaging), ("burn_ledger", suite.ledger)]
}

pub fn suite_json(suite: Suite) -> Value {
    Value::Object(named(suite).iter().map(|(n, id)| (n.to_string(), json!(id.to_text()))).collect())
}

pub fn print_suite(suite: Suite) {
    for (name, id) in named(suite) {
        println!("{name:<16} {id}");
    }
}

/// A u128 as a JSON number when it fits in u64, else as a decimal string.
fn big(v: u128) -> Value {
    u64::try_from(v).map_or_else(|_| json!(v.to_string()), |n| json!(n))
}

pub fn checkpoint_json(suite: Suite, r: &CheckpointReport) -> Value {
    let (s, m, l, b) = (&r.subnet, &r.messenger, &r.licensing, &r.burn);
    json!({
        "suite": suite_json(suite),
        "now_ns": b.now_ns,
        "subnet": {
            "id": s.subnet_id.to_text(),
            "name": s.name,
            "status": format!("{:?}", s.status),
            "jurisdiction": s.jurisdiction,
            "live_since_ns": s.live_since_ns,
            "nodes": s.members,
            "resident_nodes": s.residency.resident_nodes,
            "sev_nodes": s.sev.nodes_with_sev,
            "providers": s.by_provider.len(),
            "data_centres": s.by_data_centre.len(),
            "compliant": s.compliant,
            "violations": s.violations.iter().map(suite_client::readable).collect::<Vec<_>>(),
        },
        "messenger": {
            "users": m.users,
            "verified_institutions": m.verified_institutions,
            "conversations": m.conversations,
            "direct_conversations": m.direct_conversations,
            "groups": m.groups,
            "messages_sent": m.messages_sent,
            "bytes_stored": m.bytes_stored,
        },
        "licensing": {
            "global_seat_cap": l.global_seat_cap,
            "seats_in_use": l.seats_in_use,
            "active": l.totals.active,
            "offered": l.totals.offered,
            "suspended": l.totals.suspended,
            "activation_rate": l.activation_rate,
            "apps_live": l.apps_live,
            "active_builders_30d": l.active_builders_30d,
            "institutions": l.by_institution.len(),
            "programs": l.by_program.len(),
        },
        "burn": {
            "cycles": big(b.suite.cycles),
            "micro_xdr": big(b.suite.micro_xdr),
            "icp_e8s": big(b.suite.icp_e8s),
            "reports": b.suite.reports,
            "reporters": b.reporters,
            "micro_xdr_per_second": big(b.meter.burn_rate.micro_xdr_per_second),
            "share_of_target_bps": big(b.meter.burn_rate.share_of_target_bps),
            "pending_attribution": b.pending_attribution,
            "missing_sequences": b.missing_sequences,
        },
        "text": r.to_string(),
    })
}

/// One canister's status.
pub struct StatusRow {
    pub name: &'static str,
    pub id: Principal,
    pub config: String,
    pub controllers: Vec<Principal>,
    pub audit_entries: u64,
    pub tip_hash: String,
    pub chain_valid: bool,
    /// "N entries verified" or where the chain broke.
    pub chain: String,
}

impl StatusRow {
    pub fn json(&self) -> Value {
        json!({
            "name": self.name,
            "id": self.id.to_text(),
            "config": self.config,
            "controllers": self.controllers.iter().map(|c| c.to_text()).collect::<Vec<_>>(),
            "audit_entries": self.audit_entries,
            "tip_hash": self.tip_hash,
            "chain_valid": self.chain_valid,
            "chain": self.chain,
            "control_warning": self.control_warning(),
        })
    }

    /// The trust model in one line: whoever controls a canister can replace its code and every
    /// rule, so one controller means one key decides (README, "Trust model").
    pub fn control_warning(&self) -> Option<String> {
        match self.controllers.as_slice() {
            [] => Some("no controller: the code can never be changed (not even to fix a bug)".into()),
            [one] => Some(format!("a single principal ({one}) controls this canister: one key can replace its code and every rule; put it under a multi-party controller (an SNS, an Orbit station or a quorum canister)")),
            _ => None,
        }
    }

    pub fn print(&self) {
        println!("{} {}", self.name, self.id);
        println!("  controllers: {}", self.controllers.iter().map(|c| c.to_text()).collect::<Vec<_>>().join(", "));
        if let Some(warning) = self.control_warning() {
            println!("  WARNING:     {warning}");
        }
        println!("  audit log:   {} entries, tip {}; chain {}", self.audit_entries, self.tip_hash, self.chain);
        println!("  config:      {}", self.config);
    }
}

fn config_of<T: CandidType + serde::de::DeserializeOwned + std::fmt::Debug>(env: &mut dyn Env, id: Principal) -> Result<String, CallError> {
    checked_query1::<_, T>(env, id, Principal::anonymous(), "config", ()).map(|c| suite_client::readable(&c))
}

/// Config, controllers and the audit chain re-verified page by page (`verify_audit_log`).
pub fn status_of(env: &mut dyn Env, name: &'static str, id: Principal) -> Result<StatusRow, String> {
    use interfaces::*;
    let config = match name {
        "subnet_registry" => config_of::<subnet_registry::Config>(env, id),
        "license_issuer" => config_of::<license_issuer::Config>(env, id),
        "messaging" => config_of::<messaging::Config>(env, id),
        _ => config_of::<burn_ledger::Config>(env, id),
    }
    .map_err(|e| format!("{name} {e}"))?;
    let anyone = Principal::anonymous();
    let head: AuditPage =
        checked_query1(env, id, anyone, "audit_log", (PageRequest { start: None, limit: Some(0) },)).map_err(|e| format!("{name} {e}"))?;
    let (mut start, mut chain_valid, mut chain) = (0u64, true, String::new());
    while start < head.total {
        let count = VERIFY_PAGE.min(head.total - start);
        let check: ChainCheck = checked_query1(env, id, anyone, "verify_audit_log", (start, count)).map_err(|e| format!("{name} {e}"))?;
        match check {
            ChainCheck::Valid { checked } if checked > 0 => start += checked,
            ChainCheck::Valid { .. } => {
                (chain_valid, chain) = (false, format!("verification stopped at entry {start}"));
                break;
            }
            ChainCheck::Broken { index, reason } => {
                (chain_valid, chain) = (false, format!("BROKEN at entry {index}: {reason}"));
                break;
            }
        }
    }
    let controllers = env.controllers(id).map_err(|r| format!("{name} {id}: reading its controllers: {r}"))?;
    if chain_valid {
        chain = format!("verified ({start} of {} entries)", head.total);
    }
    Ok(StatusRow {
        name,
        id,
        config,
        controllers,
        audit_entries: head.total,
        tip_hash: hex(&head.tip_hash),
        chain_valid,
        chain,
    })
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
