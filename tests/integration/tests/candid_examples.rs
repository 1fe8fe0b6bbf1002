//! The Candid arguments users are told to type must fit the committed interfaces: every
//! `dfx canister call` in README.md and every install argument in scripts/deploy-local.sh is
//! parsed and type-checked against `candid/<canister>.did`. Then the walkthrough itself runs, in
//! order, on a suite installed with deploy-local.sh's arguments, and every call must succeed.

use candid::types::{Label, Type, TypeEnv};
use candid::{IDLArgs, IDLValue, Principal};
use suite_tests::deploy_script::*;
use suite_tests::*;

/// Stands in for the shell variables the examples use (`$ME`, peer ids, ...).
const EXAMPLE_PRINCIPAL: &str = "aaaaa-aa";
/// Stands in for `$APP`, the walkthrough's app canister (a canister id).
const EXAMPLE_APP: &str = "ryjl3-tyaaa-aaaaa-aaaba-cai";

/// Parses `args` and checks them against `types`; the error says which and why.
fn check_args(what: &str, args: &str, env: &TypeEnv, types: &[Type]) -> Result<(), String> {
    let parsed = candid_parser::parse_idl_args(args).map_err(|e| format!("{what}: does not parse: {e}\n  {args}"))?;
    if parsed.args.len() != types.len() {
        return Err(format!("{what}: {} arguments given, {} expected\n  {args}", parsed.args.len(), types.len()));
    }
    parsed.annotate_types(true, env, types).map(|_| ()).map_err(|e| format!("{what}: does not type-check: {e}\n  {args}"))
}

/// `dfx canister call <canister> <method> '<args>'` (or with a double-quoted argument).
fn readme_calls(readme: &str) -> Vec<(String, String, String)> {
    readme
        .lines()
        .filter_map(|line| line.trim().strip_prefix("dfx canister call "))
        .map(|rest| {
            let mut parts = rest.splitn(3, ' ');
            let (canister, method, arg) = (parts.next().unwrap(), parts.next().unwrap_or(""), parts.next().unwrap_or("").trim());
            let arg = if let Some(single) = arg.strip_prefix('\'') {
                single.trim_end_matches('\'').to_string()
            } else {
                arg.trim_matches('"').replace("\\\"", "\"").replace("$ME", EXAMPLE_PRINCIPAL).replace("$APP", EXAMPLE_APP)
            };
            (canister.to_string(), method.to_string(), arg)
        })
        .collect()
}

#[test]
fn readme_calls_type_check_against_the_committed_interfaces() {
    let readme = std::fs::read_to_string(workspace_root().join("README.md")).unwrap();
    let calls = readme_calls(&readme);
    assert!(calls.len() >= 20, "expected the walkthrough's calls in README.md, found {}", calls.len());
    let mut errors = Vec::new();
    for canister in CANISTERS {
        let (env, actor) = interface(canister);
        let mine: Vec<_> = calls.iter().filter(|(c, _, _)| c == canister).collect();
        assert!(!mine.is_empty(), "README.md shows no call of {canister}");
        for (_, method, args) in mine {
            let what = format!("{canister}.{method}");
            match env.get_method(&actor, method) {
                Ok(func) => errors.extend(check_args(&what, args, &env, &func.args).err()),
                Err(e) => errors.push(format!("{what}: {e}")),
            }
        }
    }
    assert!(errors.is_empty(), "README.md calls that would fail:\n{}", errors.join("\n"));
}

#[test]
fn deploy_script_install_arguments_type_check() {
    let example = Principal::from_text(EXAMPLE_PRINCIPAL).unwrap();
    for canister in CANISTERS {
        let arg = deploy_script_arg(canister, &[example], 1, [example; 4]);
        let (env, actor) = interface(canister);
        check_args(&format!("{canister} install argument"), &arg, &env, &init_types(&actor, canister)).unwrap_or_else(|e| panic!("{e}"));
    }
}

/// The identity running the walkthrough (`$ME`).
const ME: Principal = Principal::from_slice(&[0x3e, 0x01]);

fn is_err_variant(value: &IDLValue) -> bool {
    matches!(value, IDLValue::Variant(v) if v.0.id == Label::Named("Err".into()) || v.0.id.get_id() == candid::idl_hash("Err"))
}

/// Installs the suite exactly as deploy-local.sh would (with `ME` as the dfx identity), then
/// makes every README call in order, as `ME`; none may be rejected or answer `Err`.
fn readme_walkthrough_runs(env: &mut dyn Env) {
    let ids = install_like_deploy_script(env, &[ME], 1);
    // `dfx canister create demo_app`: an empty canister ME controls.
    let app = env.create_canister();
    env.add_controller(app, ME).unwrap();
    let readme = std::fs::read_to_string(workspace_root().join("README.md")).unwrap();
    for (canister, method, args) in readme_calls(&readme) {
        let id = ids[CANISTERS.iter().position(|c| *c == canister).unwrap()];
        let (types, actor) = interface(&canister);
        let func = types.get_method(&actor, &method).unwrap().clone();
        // One pass each, through a marker: a real id may itself contain `aaaaa-aa`.
        let args = args.replace(EXAMPLE_APP, "\u{1}").replace(EXAMPLE_PRINCIPAL, &ME.to_text()).replace('\u{1}', &app.to_text());
        let bytes = candid_parser::parse_idl_args(&args).unwrap().to_bytes_with_types(&types, &func.args).unwrap();
        let reply = if func.is_query() { env.query_raw(id, ME, &method, bytes) } else { env.update_raw(id, ME, &method, bytes) };
        let reply = reply.unwrap_or_else(|r| panic!("README: {canister}.{method}{args} was rejected: {r}"));
        let values = IDLArgs::from_bytes_with_types(&reply, &types, &func.rets).unwrap();
        assert!(!values.args.iter().any(is_err_variant), "README: {canister}.{method}{args} answered {values}");
    }
    // What the walkthrough did is visible: a live subnet with the app placed on it.
    let report: interfaces::license_issuer::LicensingReport = query1(env, ids[1], ME, "licensing_report", ());
    assert_eq!((report.totals.active, report.apps_live), (1, 1));
}
scenario!(readme_walkthrough_runs);

#[test]
fn a_wrong_argument_is_caught() {
    let (env, actor) = interface("burn_ledger");
    let func = env.get_method(&actor, "set_conversion_rate").unwrap();
    let wrong = "(record { xdr_permyriad_per_icp = \"35000\"; timestamp_seconds = 1 })";
    assert!(check_args("wrong", wrong, &env, &func.args).is_err());
    assert!(check_args("count", "(1, 2)", &env, &func.args).is_err());
    let right = "(record { xdr_permyriad_per_icp = 35_000; timestamp_seconds = 1 })";
    check_args("right", right, &env, &func.args).unwrap();
}
