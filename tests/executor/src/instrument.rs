//! Instrumentation pass: exposes what the executor must reach from outside the instance.
//!
//! rustc/lld export neither the function table (needed to invoke `call_new` callbacks by
//! index) nor the mutable globals (the shadow-stack pointer must be rolled back on a trap).
//! This pass adds exports for them and for memory 0, and copies every other section byte for
//! byte, so the code that runs is exactly the code that was built.

use wasm_encoder::{ExportKind, ExportSection, Module, RawSection};
use wasmparser::{ExternalKind, Parser, Payload, TypeRef};

/// Export name of the (first) function table.
pub const TABLE_EXPORT: &str = "__ic_executor_table";
/// Export name of memory 0.
pub const MEMORY_EXPORT: &str = "__ic_executor_memory";
/// Prefix of the export names of mutable globals; the suffix is the global index.
pub const GLOBAL_EXPORT_PREFIX: &str = "__ic_executor_global_";

/// What the pass found and exported.
#[derive(Clone, Debug, Default)]
pub struct Instrumented {
    pub wasm: Vec<u8>,
    pub has_table: bool,
    pub has_memory: bool,
    /// Indices of the module's mutable globals (each exported as `GLOBAL_EXPORT_PREFIX{idx}`).
    pub mutable_globals: Vec<u32>,
}

const EXPORT_SECTION_ID: u8 = 7;

/// Sections that must come after the export section in a module.
fn comes_after_exports(id: u8) -> bool {
    matches!(id, 8..=12)
}

pub fn instrument(wasm: &[u8]) -> Result<Instrumented, String> {
    let err = |e: wasmparser::BinaryReaderError| format!("invalid wasm: {e}");
    let mut imported_tables = 0u32;
    let mut defined_tables = 0u32;
    let mut imported_memories = 0u32;
    let mut defined_memories = 0u32;
    let mut imported_globals = 0u32;
    let mut mutable_globals = Vec::new();
    let mut exports: Vec<(String, ExportKind, u32)> = Vec::new();

    // First pass: learn indices and the existing exports.
    for payload in Parser::new(0).parse_all(wasm) {
        match payload.map_err(err)? {
            Payload::ImportSection(s) => {
                for imp in s.into_imports() {
                    match imp.map_err(err)?.ty {
                        TypeRef::Table(_) => imported_tables += 1,
                        TypeRef::Memory(_) => imported_memories += 1,
                        TypeRef::Global(_) => imported_globals += 1,
                        _ => {}
                    }
                }
            }
            Payload::TableSection(s) => defined_tables += s.count(),
            Payload::MemorySection(s) => defined_memories += s.count(),
            Payload::GlobalSection(s) => {
                for (i, g) in s.into_iter().enumerate() {
                    if g.map_err(err)?.ty.mutable {
                        mutable_globals.push(imported_globals + i as u32);
                    }
                }
            }
            Payload::ExportSection(s) => {
                for e in s {
                    let e = e.map_err(err)?;
                    let kind = match e.kind {
                        ExternalKind::Func | ExternalKind::FuncExact => ExportKind::Func,
                        ExternalKind::Table => ExportKind::Table,
                        ExternalKind::Memory => ExportKind::Memory,
                        ExternalKind::Global => ExportKind::Global,
                        ExternalKind::Tag => ExportKind::Tag,
                    };
                    exports.push((e.name.to_string(), kind, e.index));
                }
            }
            _ => {}
        }
    }

    let has_table = imported_tables + defined_tables > 0;
    let has_memory = imported_memories + defined_memories > 0;
    if has_table {
        exports.push((TABLE_EXPORT.into(), ExportKind::Table, 0));
    }
    if has_memory {
        exports.push((MEMORY_EXPORT.into(), ExportKind::Memory, 0));
    }
    for g in &mutable_globals {
        exports.push((format!("{GLOBAL_EXPORT_PREFIX}{g}"), ExportKind::Global, *g));
    }
    let mut export_section = ExportSection::new();
    for (name, kind, index) in &exports {
        export_section.export(name, *kind, *index);
    }

    // Second pass: copy sections verbatim, replacing (or inserting) the export section.
    let mut out = Module::new();
    let mut exports_written = false;
    for payload in Parser::new(0).parse_all(wasm) {
        let payload = payload.map_err(err)?;
        if let Payload::Version { encoding, .. } = &payload {
            if *encoding != wasmparser::Encoding::Module {
                return Err("components are not canister modules".into());
            }
        }
        let Some((id, range)) = payload.as_section() else { continue };
        if id == EXPORT_SECTION_ID {
            out.section(&export_section);
            exports_written = true;
            continue;
        }
        if !exports_written && comes_after_exports(id) {
            out.section(&export_section);
            exports_written = true;
        }
        out.section(&RawSection { id, data: &wasm[range] });
    }
    if !exports_written {
        out.section(&export_section);
    }
    Ok(Instrumented { wasm: out.finish(), has_table, has_memory, mutable_globals })
}
