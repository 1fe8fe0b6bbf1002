#!/usr/bin/env bash
# Runs the Pakistan rollout and prints the checkpoint report.
#   default      on the embedded executor (no replica needed): builds the wasm, then runs the
#                same rollout code the integration tests use (tests/integration/src/rollout.rs)
#   --replica    on the suite deployed to a local dfx replica by scripts/deploy-local.sh: runs the
#                README walkthrough's calls (a one-node, one-license version of the rollout; the
#                tests run the same calls on the executor), then prints the checkpoint queries
set -euo pipefail
cd "$(dirname "$0")/.."

usage() {
  cat <<USAGE
usage: scripts/demo.sh [--replica [--network NAME] [--subnet PRINCIPAL]]
  (no option)   run the rollout on the embedded executor and print the checkpoint report
  --replica     run the README walkthrough on the suite deployed with scripts/deploy-local.sh,
                then print the checkpoint queries
  --report-only with --replica: only print the checkpoint queries
  --network     dfx network for --replica (default: local)
  --subnet      subnet id for the compliance report (default: the first live subnet)
  --help        this text
USAGE
}

mode=executor
NETWORK=local
SUBNET=""
walkthrough=yes
while [[ $# -gt 0 ]]; do
  case "$1" in
    --help | -h) usage; exit 0 ;;
    --replica) mode=replica; shift ;;
    --report-only) walkthrough=no; shift ;;
    --network) NETWORK="$2"; shift 2 ;;
    --subnet) SUBNET="$2"; shift 2 ;;
    *) usage >&2; exit 2 ;;
  esac
done

if [[ $mode == executor ]]; then
  echo "==> building the canisters (scripts/build.sh)"
  bash scripts/build.sh >/dev/null
  echo "==> running the rollout"
  # Canister debug output (ic-cdk-timers notes) would interleave with the report.
  IC_EXECUTOR_QUIET=1 cargo run --locked --quiet -p suite_tests --bin demo
  exit 0
fi

command -v dfx >/dev/null || { echo "demo.sh: dfx is not installed" >&2; exit 1; }
if [[ $walkthrough == yes ]]; then
  # The walkthrough's calls use $ME (the dfx identity, an authority after deploy-local.sh).
  ME="$(dfx identity get-principal)"
  export ME
  echo "==> the README walkthrough, as $ME"
  while IFS= read -r line; do
    echo "  \$ ${line:0:110}..."
    eval "${line/dfx canister call /dfx canister call --network \"\$NETWORK\" }"
  done < <(grep '^dfx canister call ' README.md)
fi
call() { dfx canister call --network "$NETWORK" --query "$@"; }
if [[ -z "$SUBNET" ]]; then
  SUBNET="$(call subnet_registry list_subnets '(record { status = opt variant { Live }; jurisdiction = null; page = record { start = null; limit = opt 1 } })' \
    | grep -o 'id = principal "[^"]*"' | head -n 1 | cut -d'"' -f2 || true)"
fi
echo "=== Checkpoint report (local replica, network $NETWORK) ==="
echo "--- 1. subnet_registry.compliance_report ---"
if [[ -n "$SUBNET" ]]; then
  call subnet_registry compliance_report "(principal \"$SUBNET\")"
else
  echo "no live subnet yet: run the rollout's registry steps (README, 'Calling the canisters')"
fi
echo "--- 2. messaging.metrics ---"
call messaging metrics
echo "--- 3 and 4. license_issuer.licensing_report ---"
call license_issuer licensing_report
echo "--- 5. burn_ledger.burn_checkpoint ---"
call burn_ledger burn_checkpoint
