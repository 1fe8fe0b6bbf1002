#!/usr/bin/env bash
# Runs the Pakistan rollout and prints the checkpoint report with the `suite` command
# (clients/suite_cli), which uses the same rollout code as the integration tests
# (clients/suite_client/src/rollout.rs).
#   default      on the embedded executor (no replica needed): builds the wasm and `suite`, then
#                `suite rollout` (state saved in .suite/embedded.state) and `suite checkpoint`
#   --replica    on a local dfx replica (`dfx start --background` first): deploys or upgrades the
#                suite with scripts/deploy-local.sh, adding the rollout's authorities, then runs
#                `suite --network NAME rollout`, which calls through dfx as each of its actors
#                (imported as dfx identities named suite-demo-*), and `suite --network NAME
#                checkpoint`. On a suite where the rollout already ran, it only prints the report.
set -euo pipefail
cd "$(dirname "$0")/.."

usage() {
  cat <<USAGE
usage: scripts/demo.sh [--replica [--network NAME] [--no-deploy]]
  (no option)   run the rollout on the embedded executor and print the checkpoint report
  --replica     run it on the suite deployed to a dfx replica (deploy-local.sh runs first)
  --network     dfx network for --replica (default: local)
  --no-deploy   with --replica: use the deployed suite as it is (no deploy-local.sh)
  --help        this text
USAGE
}

mode=executor
NETWORK=local
deploy=yes
while [[ $# -gt 0 ]]; do
  case "$1" in
    --help | -h) usage; exit 0 ;;
    --replica) mode=replica; shift ;;
    --network) NETWORK="$2"; shift 2 ;;
    --no-deploy) deploy=no; shift ;;
    *) usage >&2; exit 2 ;;
  esac
done

suite() { target/debug/suite "$@"; }

# Builds show cargo's own progress: on a fresh clone the first build compiles the canisters and
# the embedded executor (wasmtime), which takes several minutes on 2 cores; later runs take seconds.
echo "==> building the canisters (scripts/build.sh); the first build takes several minutes"
bash scripts/build.sh | tail -n 1
# The rollout's app canisters run the fixture, which relays each app's own usage report.
echo "==> building the app canister (tests/fixture)"
cargo build --locked --release --target wasm32-unknown-unknown -p executor_fixture
echo "==> building the suite command and its embedded executor; the first build takes several minutes"
cargo build --locked -p suite_cli

if [[ $mode == executor ]]; then
  echo "==> suite rollout (the real canister wasm on the embedded executor)"
  suite rollout
  echo
  echo "==> suite checkpoint"
  suite checkpoint
  echo
  echo "(Each figure above was computed by a canister: compliance_report, metrics, licensing_report, burn_checkpoint."
  echo " The state is kept in .suite/embedded.state: try 'target/debug/suite status'.)"
  exit 0
fi

command -v dfx >/dev/null || { echo "demo.sh: dfx is not installed" >&2; exit 1; }
if [[ $deploy == yes ]]; then
  authorities=()
  while IFS= read -r a; do authorities+=("$a"); done < <(suite rollout --print-authorities)
  echo "==> deploying the suite with the rollout's ${#authorities[@]} authorities (scripts/deploy-local.sh)"
  bash scripts/deploy-local.sh --network "$NETWORK" --quorum 2 --reconfigure "${authorities[@]}"
fi
echo "==> suite --network $NETWORK rollout"
suite --network "$NETWORK" rollout
echo
echo "==> suite --network $NETWORK checkpoint"
suite --network "$NETWORK" checkpoint
