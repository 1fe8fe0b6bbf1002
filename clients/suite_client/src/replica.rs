//! The rollout on a real replica (`scripts/demo.sh --replica`): the suite is the one
//! `scripts/deploy-local.sh` deployed, found by its dfx.json names, and the rollout's
//! authorities must be among its authorities (the demo passes them to the script).

use crate::call::query1;
use crate::checkpoint::{self, CheckpointReport};
use crate::deploy_script::CANISTERS;
use crate::dfx_env::{DfxCli, DfxEnv};
use crate::env::Env;
use crate::rollout::{run_rollout, Rollout, Suite};
use crate::scenarios::{burn_ledger as bl, license_issuer as li, messaging as msg, subnet_registry as sr};
use candid::Principal;

/// The actors the rollout uses as authorities of each canister: what deploy-local.sh must be
/// given on its command line (besides the dfx identity, which it adds itself).
pub fn rollout_authorities() -> Vec<Principal> {
    let mut all = sr::authorities().to_vec();
    all.extend([li::authority(), msg::authority(), bl::ledger_authority()]);
    all
}

/// The rollout approves each registry proposal with two authorities.
pub const ROLLOUT_QUORUM: u32 = 2;

/// The suite deploy-local.sh created, by its dfx.json names.
pub fn deployed_suite<C: DfxCli>(env: &mut DfxEnv<C>) -> Result<Suite, String> {
    let [registry, issuer, messaging, ledger] = CANISTERS;
    Ok(Suite {
        registry: env.canister_id(registry)?,
        issuer: env.canister_id(issuer)?,
        messaging: env.canister_id(messaging)?,
        ledger: env.canister_id(ledger)?,
    })
}

/// Whether the rollout can run on a deployed suite.
#[derive(Debug, PartialEq, Eq)]
pub enum Readiness {
    Ready,
    /// The rollout already ran here: the Pakistan subnet exists (the report can still be shown).
    AlreadyRolledOut,
    /// What deploy-local.sh must be re-run with: per canister, the missing authorities; or a
    /// registry quorum the rollout's two approvals cannot reach.
    NeedsRedeploy(Vec<String>),
}

/// Reads each canister's configuration and the registry, and says whether the rollout can run.
pub fn readiness(env: &mut dyn Env, suite: Suite) -> Readiness {
    let anyone = Principal::anonymous();
    if sr::get_subnet(env, suite.registry, sr::PAKISTAN_SUBNET).is_some() {
        return Readiness::AlreadyRolledOut;
    }
    let registry: interfaces::subnet_registry::Config = query1(env, suite.registry, anyone, "config", ());
    let issuer: interfaces::license_issuer::Config = query1(env, suite.issuer, anyone, "config", ());
    let messaging: interfaces::messaging::Config = query1(env, suite.messaging, anyone, "config", ());
    let ledger: interfaces::burn_ledger::Config = query1(env, suite.ledger, anyone, "config", ());
    let needed = [
        ("subnet_registry", sr::authorities().to_vec(), registry.authorities),
        ("license_issuer", vec![li::authority()], issuer.authorities),
        ("messaging", vec![msg::authority()], messaging.authorities),
        ("burn_ledger", vec![bl::ledger_authority()], ledger.authorities),
    ];
    let mut problems: Vec<String> = needed
        .into_iter()
        .filter_map(|(name, wanted, have)| {
            let missing: Vec<String> = wanted.iter().filter(|p| !have.contains(p)).map(|p| p.to_text()).collect();
            (!missing.is_empty()).then(|| format!("{name}: authorities lack {}", missing.join(", ")))
        })
        .collect();
    if registry.quorum > ROLLOUT_QUORUM {
        problems.push(format!("subnet_registry: quorum {} (the rollout approves with {ROLLOUT_QUORUM})", registry.quorum));
    }
    if problems.is_empty() {
        Readiness::Ready
    } else {
        Readiness::NeedsRedeploy(problems)
    }
}

/// What the replica demo did.
pub struct ReplicaRun {
    pub suite: Suite,
    /// `None` when the rollout had already run on this deployment.
    pub rollout: Option<Rollout>,
    pub report: CheckpointReport,
}

/// `scripts/demo.sh --replica`: finds the deployed suite, runs the rollout on it (unless it
/// already ran there), and fetches the checkpoint report. An error says what to do.
pub fn run_on_deployed_suite<C: DfxCli>(env: &mut DfxEnv<C>, progress: &mut dyn FnMut(&str)) -> Result<ReplicaRun, String> {
    let suite = deployed_suite(env)?;
    let rollout = match readiness(env, suite) {
        Readiness::Ready => Some(run_rollout(env, suite, progress)),
        Readiness::AlreadyRolledOut => {
            progress("the rollout already ran on this deployment (the Pakistan subnet exists): showing its report");
            None
        }
        Readiness::NeedsRedeploy(problems) => {
            let authorities: Vec<String> = rollout_authorities().iter().map(Principal::to_text).collect();
            return Err(format!(
                "the deployed suite is not set up for the rollout:\n  {}\nrun: scripts/deploy-local.sh --quorum {ROLLOUT_QUORUM} {}",
                problems.join("\n  "),
                authorities.join(" ")
            ));
        }
    };
    let report = checkpoint::fetch(env, suite, sr::PAKISTAN_SUBNET);
    Ok(ReplicaRun { suite, rollout, report })
}
