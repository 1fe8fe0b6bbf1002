#!/usr/bin/env bash
# Installs what building and testing need, into the repo (idempotent, offline-friendly):
#   - the wasm32-unknown-unknown Rust target (rust-toolchain.toml names it too)
#   - ic-wasm, from the npm package that ships its binary, into .tools/bin
# Prints the ic-wasm path on the last line.
set -euo pipefail
cd "$(dirname "$0")/.."

if [[ "${1:-}" == "--help" ]]; then
  echo "usage: scripts/install-tools.sh   installs the wasm target and ic-wasm into .tools/bin"
  exit 0
fi

IC_WASM_VERSION=0.11.1
TOOLS="$PWD/.tools"

if ! rustup target list --installed 2>/dev/null | grep -qx wasm32-unknown-unknown; then
  rustup target add wasm32-unknown-unknown >&2
fi

if [[ ! -x "$TOOLS/bin/ic-wasm" ]] || ! "$TOOLS/bin/ic-wasm" --version 2>/dev/null | grep -q "$IC_WASM_VERSION"; then
  mkdir -p "$TOOLS/bin" "$TOOLS/npm"
  (cd "$TOOLS/npm" && npm pack --silent "@icp-sdk/ic-wasm-linux-x64@$IC_WASM_VERSION" >/dev/null 2>&1 \
    && tar xzf "icp-sdk-ic-wasm-linux-x64-$IC_WASM_VERSION.tgz")
  cp "$TOOLS/npm/package/bin/ic-wasm" "$TOOLS/bin/ic-wasm"
  chmod +x "$TOOLS/bin/ic-wasm"
fi
echo "$TOOLS/bin/ic-wasm"
