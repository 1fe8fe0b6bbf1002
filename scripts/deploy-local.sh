#!/usr/bin/env bash
# Deploys the Sovereign Cloud Suite to a running local dfx replica (`dfx start --background`),
# wiring each canister's peers into its install argument, with the Pakistan defaults.
# Idempotent: a second run upgrades the canisters and KEEPS their stored configuration (authorities
# and quorum may have been changed by proposals since); --reconfigure re-applies the arguments, and
# each canister audits that reconfiguration with the configuration before and after.
set -euo pipefail
cd "$(dirname "$0")/.."

usage() {
  cat <<USAGE
usage: scripts/deploy-local.sh [--network NAME] [--quorum N] [--reconfigure] [AUTHORITY_PRINCIPAL ...]

Creates the four canisters (if needed), builds them, and installs each with its peers'
canister ids. Authorities = the current dfx identity plus any principals given. An installed
canister is upgraded with its stored configuration kept, unless --reconfigure is given.
Pakistan defaults: 1,500 license seats, registry quorum = majority of the authorities.
Prints each canister's Candid UI link at the end.
  --network NAME   dfx network (default: local)
  --quorum N       registry approvals a proposal needs (default: majority of the authorities)
  --reconfigure    on upgrade, replace the stored configuration with these arguments (audited)
  --help           this text
USAGE
}

NETWORK=local
QUORUM=""
RECONFIGURE=0
extra=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --help | -h) usage; exit 0 ;;
    --network) NETWORK="$2"; shift 2 ;;
    --quorum) QUORUM="$2"; shift 2 ;;
    --reconfigure) RECONFIGURE=1; shift ;;
    *) extra+=("$1"); shift ;;
  esac
done

command -v dfx >/dev/null || { echo "deploy-local.sh: dfx is not installed" >&2; exit 1; }
# The suite needs dfx 0.30 or newer (canister environment variables, current replica).
dfx_version="$(dfx --version | awk '{ print $2 }')"
dfx_minor="$(echo "$dfx_version" | awk -F. '{ print $1 * 1000 + $2 }')"
[[ "$dfx_minor" -ge 30 ]] || { echo "deploy-local.sh: dfx $dfx_version is too old; the suite needs dfx 0.30 or newer" >&2; exit 1; }
# dfx.json pins the version the suite was built for ("dfx"); dfxvm picks it, a plain dfx may differ.
pinned="$(sed -n 's/^ *"dfx": *"\([^"]*\)".*/\1/p' dfx.json)"
if [[ -n "$pinned" && "$pinned" != "$dfx_version" ]]; then
  echo "deploy-local.sh: note: dfx.json pins dfx $pinned, this is dfx $dfx_version (dfxvm install $pinned)" >&2
fi
dfx ping "$NETWORK" >/dev/null 2>&1 || { echo "deploy-local.sh: no replica on '$NETWORK'; run: dfx start --background" >&2; exit 1; }

me="$(dfx identity get-principal)"
authorities=("$me" ${extra[@]+"${extra[@]}"})
quorum="${QUORUM:-$(( ${#authorities[@]} / 2 + 1 ))}"
auth_vec=""
for a in "${authorities[@]}"; do auth_vec+="principal \"$a\"; "; done

echo "==> creating canisters (existing ones are kept)"
dfx canister create --all --network "$NETWORK"
id() { dfx canister id "$1" --network "$NETWORK"; }
registry="$(id subnet_registry)"
issuer="$(id license_issuer)"
messaging="$(id messaging)"
ledger="$(id burn_ledger)"

installed() { dfx canister info "$1" --network "$NETWORK" 2>/dev/null | grep -q 'Module hash: 0x'; }

deploy() { # deploy NAME CANDID_ARGUMENT: installs, or upgrades an installed canister
  local argument="$2"
  if installed "$1" && [[ $RECONFIGURE -eq 0 ]]; then
    echo "==> upgrading $1 (stored configuration kept; --reconfigure to replace it)"
    argument="(null)"
  else
    echo "==> deploying $1"
  fi
  # --upgrade-unchanged: a re-run upgrades even when the wasm is the same
  dfx deploy "$1" --network "$NETWORK" --argument "$argument" --upgrade-unchanged
}

deploy subnet_registry "(opt record {
  authorities = vec { $auth_vec };
  quorum = $quorum : nat32;
  placement_recorders = vec { principal \"$issuer\" };
  burn_ledger = opt principal \"$ledger\";
  proposal_ttl_seconds = null;
  usage_report_interval_seconds = null;
})"
deploy license_issuer "(opt record {
  authorities = vec { $auth_vec };
  global_seat_cap = 1500 : nat32;
  subnet_registry = opt principal \"$registry\";
  burn_ledger = opt principal \"$ledger\";
  other_suite_canisters = opt vec { principal \"$messaging\" };
  offer_ttl_seconds = null;
  idle_reclaim_days = null;
  usage_report_interval_seconds = null;
})"
deploy messaging "(opt record {
  authorities = vec { $auth_vec };
  burn_ledger = opt principal \"$ledger\";
  limits = null;
  usage_report_interval_seconds = null;
})"
deploy burn_ledger "(opt record {
  authorities = vec { $auth_vec };
  subnet_registry = opt principal \"$registry\";
  license_issuer = opt principal \"$issuer\";
  reporters = vec { principal \"$registry\"; principal \"$issuer\"; principal \"$messaging\"; principal \"$ledger\" };
  network_target_milli_xdr_per_second = null;
  usage_report_interval_seconds = null;
})"

port="$(dfx info webserver-port 2>/dev/null || echo 4943)"
candid_ui="$(dfx canister id __Candid_UI --network "$NETWORK" 2>/dev/null || true)"
echo
echo "Candid UI:"
for c in subnet_registry license_issuer messaging burn_ledger; do
  if [[ -n "$candid_ui" ]]; then
    echo "  $c: http://127.0.0.1:$port/?canisterId=$candid_ui&id=$(id "$c")"
  else
    echo "  $c: $(id "$c") (open Candid UI from the URL dfx deploy printed)"
  fi
done
