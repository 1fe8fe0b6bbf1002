//! One shared wasmtime `Engine` and a cache of compiled canister modules.
//!
//! Compiling an 800 KB canister takes seconds, so modules are cached by the SHA-256 of the
//! original wasm: in memory for the life of the process, and as serialized artifacts under
//! `target/ic_executor_cache/` across test runs.

use crate::instrument::{instrument, Instrumented};
use crate::system_api::{self, HostState};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};
use wasmtime::{Config, Engine, InstancePre, Module};

/// A canister module ready to instantiate.
pub struct CompiledModule {
    /// SHA-256 of the wasm as installed (what `canister_status` reports as module hash).
    pub hash: [u8; 32],
    /// The module as installed (kept so a saved executor state can be reloaded).
    pub wasm: Arc<Vec<u8>>,
    pub pre: InstancePre<HostState>,
    pub mutable_globals: Vec<u32>,
    pub exports: Vec<String>,
    /// Bytes of the (decompressed) module's custom sections (canister_status memory metrics).
    pub custom_sections_size: u64,
    /// Declares enhanced orthogonal persistence (an `icp:private enhanced-orthogonal-persistence`
    /// custom section): upgrades must keep its wasm memory.
    pub enhanced_orthogonal_persistence: bool,
}

impl CompiledModule {
    pub fn exports_fn(&self, name: &str) -> bool {
        self.exports.iter().any(|e| e == name)
    }
}

pub fn engine() -> &'static Engine {
    static ENGINE: OnceLock<Engine> = OnceLock::new();
    ENGINE.get_or_init(|| {
        let mut config = Config::new();
        // Fuel counts executed operators: the instruction counter and the IC's limits.
        config.consume_fuel(true);
        Engine::new(&config).expect("wasmtime engine config")
    })
}

fn cache_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("IC_EXECUTOR_CACHE_DIR") {
        return PathBuf::from(dir);
    }
    let target = option_env!("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../target")));
    target.join("ic_executor_cache")
}

fn engine_fingerprint() -> String {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    engine().precompile_compatibility_hash().hash(&mut h);
    // The instrumentation pass is part of what was compiled.
    crate::instrument::TABLE_EXPORT.hash(&mut h);
    format!("{:016x}", h.finish())
}

/// Compiles (or fetches from cache) a canister module.
pub fn compile(wasm: &[u8]) -> Result<Arc<CompiledModule>, String> {
    static MEMO: OnceLock<Mutex<HashMap<[u8; 32], Arc<CompiledModule>>>> = OnceLock::new();
    let hash: [u8; 32] = Sha256::digest(wasm).into();
    let memo = MEMO.get_or_init(Default::default);
    if let Some(m) = memo.lock().unwrap().get(&hash) {
        return Ok(m.clone());
    }
    let original = wasm.to_vec();
    let wasm = maybe_gunzip(wasm)?;
    let (custom_sections_size, enhanced_orthogonal_persistence) = custom_sections(&wasm);
    let Instrumented { wasm: instrumented, mutable_globals, .. } = instrument(&wasm)?;
    let module = load_or_compile(&hash, &instrumented)?;
    let exports = module.exports().map(|e| e.name().to_string()).collect();
    let linker = system_api::linker_for(engine(), &module)?;
    let pre = linker.instantiate_pre(&module).map_err(|e| format!("cannot link canister module: {e:#}"))?;
    let compiled = Arc::new(CompiledModule {
        hash,
        wasm: Arc::new(original),
        pre,
        mutable_globals,
        exports,
        custom_sections_size,
        enhanced_orthogonal_persistence,
    });
    memo.lock().unwrap().insert(hash, compiled.clone());
    Ok(compiled)
}

/// Total size of the custom sections and whether one declares enhanced orthogonal persistence.
fn custom_sections(wasm: &[u8]) -> (u64, bool) {
    let (mut size, mut eop) = (0u64, false);
    for payload in wasmparser::Parser::new(0).parse_all(wasm) {
        if let Ok(wasmparser::Payload::CustomSection(r)) = payload {
            size += r.data().len() as u64 + r.name().len() as u64;
            eop |= matches!(r.name(), "icp:private enhanced-orthogonal-persistence" | "icp:public enhanced-orthogonal-persistence");
        }
    }
    (size, eop)
}

fn load_or_compile(hash: &[u8; 32], instrumented: &[u8]) -> Result<Module, String> {
    let dir = cache_dir();
    let path = dir.join(format!("{}-{}.cwasm", hex::encode(hash), engine_fingerprint()));
    if path.exists() {
        // SAFETY: the file was written by `Module::serialize` of an engine with the same
        // compatibility fingerprint (part of the file name); wasmtime re-checks it too.
        if let Ok(m) = unsafe { Module::deserialize_file(engine(), &path) } {
            return Ok(m);
        }
    }
    let module = Module::new(engine(), instrumented).map_err(|e| format!("cannot compile canister wasm: {e:#}"))?;
    if let Ok(bytes) = module.serialize() {
        // Best effort: a failed cache write only costs a recompilation next time.
        let _ = std::fs::create_dir_all(&dir);
        let tmp = dir.join(format!(".tmp-{}-{}", std::process::id(), hex::encode(&hash[..8])));
        if std::fs::write(&tmp, bytes).is_ok() {
            let _ = std::fs::rename(&tmp, &path);
        }
    }
    Ok(module)
}

/// The IC accepts gzipped modules (interface spec, "IC method install_code": a module starting
/// with the gzip magic bytes is decompressed); the module hash stays that of the bytes given.
fn maybe_gunzip(wasm: &[u8]) -> Result<Vec<u8>, String> {
    if !wasm.starts_with(&[0x1f, 0x8b]) {
        return Ok(wasm.to_vec());
    }
    use std::io::Read;
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(wasm).take(MAX_DECOMPRESSED_WASM + 1).read_to_end(&mut out).map_err(|e| format!("gzipped wasm does not decompress: {e}"))?;
    if out.len() as u64 > MAX_DECOMPRESSED_WASM {
        return Err(format!("decompressed wasm exceeds {MAX_DECOMPRESSED_WASM} bytes"));
    }
    Ok(out)
}

/// The IC's limit on a decompressed module (100 MiB).
const MAX_DECOMPRESSED_WASM: u64 = 100 * 1024 * 1024;
