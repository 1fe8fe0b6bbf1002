//! `scripts/deploy-local.sh` as data: its install arguments, read from the script itself with
//! the shell variables filled in, so tests can install a suite exactly as the script does.

use crate::env::Env;
use crate::wasm::{wasm, workspace_root};
use candid::types::{Type, TypeEnv};
use candid::Principal;
use candid_parser::utils::CandidSource;
use std::path::Path;

/// The suite's canisters, in the order of their dfx.json names and of [`install_like_deploy_script`]'s ids.
pub const CANISTERS: [&str; 4] = ["subnet_registry", "license_issuer", "messaging", "burn_ledger"];

/// The committed interface of `canister` (`candid/<canister>.did`).
pub fn interface(canister: &str) -> (TypeEnv, Type) {
    let path = workspace_root().join("candid").join(format!("{canister}.did"));
    let (env, actor) = CandidSource::File(Path::new(&path)).load().unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    (env, actor.expect("the .did has a service"))
}

/// The install argument types of a service.
pub fn init_types(actor: &Type, canister: &str) -> Vec<Type> {
    match actor.as_ref() {
        candid::types::TypeInner::Class(args, _) => args.clone(),
        other => panic!("{canister}.did has no init arguments: {other:?}"),
    }
}

/// deploy-local.sh's install argument for `canister` (Candid text), its shell variables replaced:
/// the authorities, the quorum and the four canister ids (in [`CANISTERS`] order).
pub fn deploy_script_arg(canister: &str, authorities: &[Principal], quorum: u32, ids: [Principal; 4]) -> String {
    let script = std::fs::read_to_string(workspace_root().join("scripts/deploy-local.sh")).unwrap();
    let start = script.find(&format!("deploy {canister} \"(")).unwrap_or_else(|| panic!("deploy-local.sh does not install {canister}"));
    let body = &script[start + format!("deploy {canister} \"").len()..];
    let arg = &body[..body.find(")\"").expect("argument ends with )\"") + 1];
    let auth_vec: String = authorities.iter().map(|a| format!("principal \"{a}\"; ")).collect();
    let mut arg = arg.replace("\\\"", "\"").replace("$auth_vec", &auth_vec).replace("$quorum", &quorum.to_string());
    for (var, id) in ["$registry", "$issuer", "$messaging", "$ledger"].into_iter().zip(ids) {
        arg = arg.replace(var, &id.to_text());
    }
    arg
}

/// Creates the four canisters and installs each with deploy-local.sh's own argument. Returns
/// their ids in [`CANISTERS`] order.
pub fn install_like_deploy_script(env: &mut dyn Env, authorities: &[Principal], quorum: u32) -> [Principal; 4] {
    let ids = [env.create_canister(), env.create_canister(), env.create_canister(), env.create_canister()];
    for (canister, id) in CANISTERS.into_iter().zip(ids) {
        let (types, actor) = interface(canister);
        let arg = candid_parser::parse_idl_args(&deploy_script_arg(canister, authorities, quorum, ids)).unwrap();
        let bytes = arg.to_bytes_with_types(&types, &init_types(&actor, canister)).unwrap();
        env.install(id, &wasm(canister), bytes).unwrap_or_else(|r| panic!("installing {canister} as deploy-local.sh does: {r}"));
    }
    ids
}
