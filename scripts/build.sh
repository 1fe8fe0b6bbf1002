#!/usr/bin/env bash
# Builds the suite's canisters for wasm32-unknown-unknown (release), shrinks them, embeds each
# committed .did as `candid:service` metadata, and checks every result:
#   - it imports only from `ic0` (the IC refuses anything else),
#   - `ic-wasm check-endpoints` agrees with the .did,
# then prints the sizes. Results: out/<canister>.wasm and out/<canister>.wasm.gz.
# Any failed check stops the script with a message naming the canister and the problem.
set -euo pipefail
cd "$(dirname "$0")/.."

ALL=(subnet_registry license_issuer messaging messaging_index burn_ledger)
if [[ "${1:-}" == "--help" || "${1:-}" == "-h" ]]; then
  cat <<USAGE
usage: scripts/build.sh [canister ...]
Builds the given canisters (default: ${ALL[*]}) into out/<name>.wasm(.gz) and checks them.
USAGE
  exit 0
fi
if [[ $# -gt 0 ]]; then CANISTERS=("$@"); else CANISTERS=("${ALL[@]}"); fi

IC_WASM="$(bash scripts/install-tools.sh | tail -n 1)"
OUT=out
mkdir -p "$OUT"

fail() { echo "build.sh: $1: $2" >&2; exit 1; }

packages=()
for c in "${CANISTERS[@]}"; do
  [[ -f "candid/$c.did" ]] || fail "$c" "no candid/$c.did (unknown canister?)"
  packages+=(-p "$c")
done
echo "==> cargo build --release --target wasm32-unknown-unknown ${packages[*]}"
cargo build --locked --release --target wasm32-unknown-unknown "${packages[@]}"

printf '%-16s %12s %12s %12s\n' canister "raw (B)" "shrunk (B)" "gzip (B)"
for c in "${CANISTERS[@]}"; do
  raw="target/wasm32-unknown-unknown/release/$c.wasm"
  wasm="$OUT/$c.wasm"
  [[ -f "$raw" ]] || fail "$c" "cargo produced no $raw"
  "$IC_WASM" "$raw" -o "$wasm" shrink || fail "$c" "ic-wasm shrink failed"
  "$IC_WASM" "$wasm" -o "$wasm" metadata candid:service -f "candid/$c.did" -v public \
    || fail "$c" "could not embed candid:service metadata"
  "$IC_WASM" "$wasm" metadata | grep -q "icp:public candid:service" \
    || fail "$c" "candid:service metadata missing after embedding"

  bad_imports="$(python3 scripts/wasm_symbols.py imports "$wasm" | grep -v '^ic0\.' || true)"
  [[ -z "$bad_imports" ]] || fail "$c" "imports from outside ic0 (the IC would refuse it): $(echo "$bad_imports" | tr '\n' ' ')"

  # Lifecycle and ic-cdk internal exports are not in the .did; tell check-endpoints which of the
  # known ones this canister has (a canister without timers has no timer exports).
  hidden="$OUT/$c.hidden-endpoints.txt"
  # The wasm names methods `canister_update <name>`; check-endpoints spells them `canister_update:<name>`.
  python3 scripts/wasm_symbols.py exports "$wasm" \
    | sed -E 's/^canister_(update|query|composite_query) /canister_\1:/' \
    | grep -Fx -f scripts/hidden-endpoints.txt > "$hidden" || true
  if ! report="$("$IC_WASM" "$wasm" check-endpoints --candid "candid/$c.did" --hidden "$hidden" 2>&1)"; then
    fail "$c" "exported endpoints disagree with candid/$c.did: $report"
  fi

  gzip -9 -n -c "$wasm" > "$wasm.gz"
  printf '%-16s %12d %12d %12d\n' "$c" "$(stat -c %s "$raw")" "$(stat -c %s "$wasm")" "$(stat -c %s "$wasm.gz")"
done
echo "build.sh: ${#CANISTERS[@]} canister(s) built and checked in $OUT/"
