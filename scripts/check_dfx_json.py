#!/usr/bin/env python3
"""Checks dfx.json against dfx's own JSON schema and against the repo.

usage: check_dfx_json.py DFX_JSON SCHEMA
Exits non-zero, naming each problem, when dfx.json does not validate, when a canister's
candid file or package is missing, when the four suite canisters are not all declared, or when
the dfx version is not pinned to 0.30 or newer.
"""
import json
import os
import sys

import jsonschema

SUITE = ["subnet_registry", "license_issuer", "messaging", "burn_ledger"]


def problems(dfx_path, schema_path):
    with open(dfx_path) as f:
        dfx = json.load(f)
    with open(schema_path) as f:
        schema = json.load(f)
    validator = jsonschema.Draft7Validator(schema)
    for error in sorted(validator.iter_errors(dfx), key=str):
        yield f"schema: {'/'.join(map(str, error.path))}: {error.message}"
    pin = dfx.get("dfx")
    parts = pin.split(".") if isinstance(pin, str) else []
    if len(parts) != 3 or not all(p.isdigit() for p in parts):
        yield f"dfx: the dfx version must be pinned as MAJOR.MINOR.PATCH (found {pin!r})"
    elif (int(parts[0]), int(parts[1])) < (0, 30):
        yield f"dfx: pinned {pin}, but the suite needs dfx 0.30 or newer"
    root = os.path.dirname(os.path.abspath(dfx_path))
    canisters = dfx.get("canisters", {})
    for name in SUITE:
        c = canisters.get(name)
        if c is None:
            yield f"{name}: not declared"
            continue
        if c.get("type") != "rust" or c.get("package") != name:
            yield f"{name}: must be type rust with package {name}"
        if not os.path.isfile(os.path.join(root, c.get("candid", ""))):
            yield f"{name}: candid file {c.get('candid')} does not exist"
        if "init_args" in c:
            yield f"{name}: 'init_args' is not a dfx field (use init_arg)"
        if not any(m.get("name") == "candid:service" for m in c.get("metadata", [])):
            yield f"{name}: no candid:service metadata"


if __name__ == "__main__":
    found = list(problems(sys.argv[1], sys.argv[2]))
    for p in found:
        print(f"dfx.json: {p}", file=sys.stderr)
    if found:
        sys.exit(1)
    print("dfx.json: valid against dfx's schema; dfx version pinned; all four canisters declared")
