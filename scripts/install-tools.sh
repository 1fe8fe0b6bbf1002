#!/usr/bin/env bash
# Installs what building and testing need, into the repo (idempotent, offline-friendly):
#   - the wasm32-unknown-unknown Rust target (rust-toolchain.toml names it too)
#   - ic-wasm into .tools/bin: from the npm package that ships its binary for this platform
#     (linux/darwin, x64/arm64), otherwise built with `cargo install ic-wasm`
# Prints the ic-wasm path on the last line. Runs under bash 3.2 (macOS) too.
# Environment: SUITE_TOOLS_DIR (default .tools) is where tools go; IC_WASM_FROM=cargo skips npm
# (to try the path machines without an npm package take).
set -euo pipefail
cd "$(dirname "$0")/.."

if [[ "${1:-}" == "--help" ]]; then
  echo "usage: scripts/install-tools.sh   installs the wasm target and ic-wasm into .tools/bin"
  exit 0
fi

IC_WASM_VERSION=0.11.1
TOOLS="${SUITE_TOOLS_DIR:-$PWD/.tools}"

if ! rustup target list --installed 2>/dev/null | grep -qx wasm32-unknown-unknown; then
  rustup target add wasm32-unknown-unknown >&2
fi

platform() { # npm's platform suffix: linux-x64, linux-arm64, darwin-x64, darwin-arm64
  local os arch
  case "$(uname -s)" in Linux) os=linux ;; Darwin) os=darwin ;; *) os=unknown ;; esac
  case "$(uname -m)" in x86_64 | amd64) arch=x64 ;; arm64 | aarch64) arch=arm64 ;; *) arch=unknown ;; esac
  echo "$os-$arch"
}

from_npm() { # from_npm PLATFORM: the binary from @icp-sdk/ic-wasm-PLATFORM, if npm has it
  local pkg="@icp-sdk/ic-wasm-$1@$IC_WASM_VERSION"
  command -v npm >/dev/null 2>&1 || return 1
  rm -rf "$TOOLS/npm" && mkdir -p "$TOOLS/npm"
  (cd "$TOOLS/npm" && npm pack --silent "$pkg" >/dev/null 2>&1 && tar xzf ./*.tgz) || return 1
  cp "$TOOLS/npm/package/bin/ic-wasm" "$TOOLS/bin/ic-wasm"
}

if [[ ! -x "$TOOLS/bin/ic-wasm" ]] || ! "$TOOLS/bin/ic-wasm" --version 2>/dev/null | grep -q "$IC_WASM_VERSION"; then
  mkdir -p "$TOOLS/bin"
  if [[ "${IC_WASM_FROM:-npm}" == cargo ]] || ! from_npm "$(platform)"; then
    echo "install-tools.sh: ic-wasm not taken from npm (platform $(platform), IC_WASM_FROM=${IC_WASM_FROM:-npm}); building it with cargo install (a few minutes)" >&2
    cargo install --quiet --locked ic-wasm --version "$IC_WASM_VERSION" --root "$TOOLS" >&2
  fi
  chmod +x "$TOOLS/bin/ic-wasm"
fi
echo "$TOOLS/bin/ic-wasm"
