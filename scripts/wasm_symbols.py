#!/usr/bin/env python3
"""Prints the imports (`module.name`) or exports (`name`) of a wasm module, one per line.

usage: wasm_symbols.py imports|exports FILE

Used by scripts/build.sh to prove a canister imports only from `ic0` (anything else, such as a
stray `env` or `__wbindgen_placeholder__` import pulled in by a dependency, makes the IC refuse
to install the module). Reads the binary format directly: no tool to install.
"""
import sys


def leb_u32(data, pos):
    result, shift = 0, 0
    while True:
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if byte & 0x80 == 0:
            return result, pos
        shift += 7


def name(data, pos):
    length, pos = leb_u32(data, pos)
    return data[pos:pos + length].decode("utf-8"), pos + length


def sections(data):
    """Yields (section id, start, end) for each section."""
    if data[:4] != b"\0asm":
        raise SystemExit("not a wasm module")
    pos = 8
    while pos < len(data):
        section_id = data[pos]
        size, pos = leb_u32(data, pos + 1)
        yield section_id, pos, pos + size
        pos += size


def exports(data):
    for section_id, pos, _ in sections(data):
        if section_id == 7:  # export section
            count, pos = leb_u32(data, pos)
            for _ in range(count):
                field, pos = name(data, pos)
                pos += 1  # kind
                _, pos = leb_u32(data, pos)
                yield field


def imports(data):
    for section_id, pos, _ in sections(data):
        if section_id == 2:  # import section
            count, pos = leb_u32(data, pos)
            for _ in range(count):
                module, pos = name(data, pos)
                field, pos = name(data, pos)
                kind = data[pos]
                pos += 1
                if kind == 0:  # function: type index
                    _, pos = leb_u32(data, pos)
                elif kind == 1:  # table: reftype + limits
                    pos += 1
                    flags, pos = leb_u32(data, pos)
                    _, pos = leb_u32(data, pos)
                    if flags & 1:
                        _, pos = leb_u32(data, pos)
                elif kind == 2:  # memory: limits
                    flags, pos = leb_u32(data, pos)
                    _, pos = leb_u32(data, pos)
                    if flags & 1:
                        _, pos = leb_u32(data, pos)
                elif kind == 3:  # global: valtype + mutability
                    pos += 2
                else:
                    raise SystemExit(f"unknown import kind {kind}")
                yield module, field


if __name__ == "__main__":
    what, path = sys.argv[1], sys.argv[2]
    with open(path, "rb") as f:
        data = f.read()
    if what == "imports":
        for module, field in imports(data):
            print(f"{module}.{field}")
    elif what == "exports":
        for field in exports(data):
            print(field)
    else:
        raise SystemExit(__doc__)
