//! The sandbox: one wasmtime engine, each plugin version compiled once into a pre-instantiated
//! handle, and a fresh store per call with its own fuel, wall-clock deadline, memory and table
//! limits and output cap. Plugins get only the contract's bounded `log`; every other import
//! traps. No clock, randomness, file or network reaches them, so the same input gives the same
//! output and burns the same fuel.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use serde::Serialize;
use sha2::{Digest, Sha256};
use wasmtime::component::{
    Component, ComponentExportIndex, HasSelf, InstancePre, Linker, TypedFunc,
};
use wasmtime::{
    Config, Enabled, Engine, InstanceAllocationStrategy, PoolingAllocationConfig, ResourceLimiter,
    Store, Trap,
};

use super::bindings::mentortrack::plugin::log::{self as wit_log, Level};
use super::bindings::mentortrack::plugin::types as wit;
use super::bindings::{PartnerPlugin, PartnerPluginPre};
use super::model::{Checklist, Manifest, Response, ScoreCard, ScoreContext, ScoreRefusal};

/// The contract major version this host implements.
pub const CONTRACT_MAJOR: u64 = 1;
const CONTRACT_PACKAGE: &str = "mentortrack:plugin";
/// How often the epoch ticks; deadlines are whole ticks.
const EPOCH_TICK: Duration = Duration::from_millis(5);

/// Per-call limits. The defaults are generous for real checklists (a 30-item score uses well
/// under 1 % of the fuel) and stop a hostile plugin within a fraction of a second.
#[derive(Clone, Debug, Serialize)]
pub struct Limits {
    /// WebAssembly instructions (roughly) a call may execute.
    pub fuel: u64,
    /// Wall-clock time a call may take, whatever it does.
    pub wall_clock: Duration,
    /// Largest linear memory, in bytes.
    pub memory_bytes: usize,
    pub table_elements: usize,
    /// Largest score card, as JSON bytes.
    pub output_bytes: usize,
    /// Largest manifest plus checklist definitions, as JSON bytes.
    pub definition_bytes: usize,
    /// Log lines kept per call, and bytes per line.
    pub log_lines: usize,
    pub log_line_bytes: usize,
    /// Largest component accepted for upload, in bytes.
    pub component_bytes: usize,
    /// Calls running at once; more wait their turn.
    pub concurrency: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            fuel: 1_000_000_000,
            wall_clock: Duration::from_secs(2),
            memory_bytes: 64 << 20,
            table_elements: 20_000,
            output_bytes: 1 << 20,
            definition_bytes: 4 << 20,
            log_lines: 100,
            log_line_bytes: 1024,
            component_bytes: 8 << 20,
            concurrency: 16,
        }
    }
}

/// Why a plugin call produced no result.
#[derive(Debug, Clone, PartialEq, thiserror::Error, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum PluginError {
    #[error("the plugin used all its fuel ({limit} units): it computes too much or loops forever")]
    OutOfFuel { limit: u64 },
    #[error("the plugin ran longer than its {limit_ms} ms time limit")]
    Timeout { limit_ms: u128 },
    #[error("the plugin tried to use more than {limit_bytes} bytes of memory")]
    OutOfMemory { limit_bytes: usize },
    #[error("the plugin overflowed its stack (unbounded recursion?)")]
    StackOverflow,
    #[error("the plugin's output is {bytes} bytes, over the {limit_bytes}-byte limit")]
    OutputTooLarge { bytes: usize, limit_bytes: usize },
    #[error("the plugin crashed: {message}")]
    Trapped { message: String },
    #[error("the plugin could not be started: {message}")]
    Instantiation { message: String },
}

/// A plugin the host refuses to load.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum LoadError {
    #[error("the file is {bytes} bytes; plugins may be at most {limit_bytes} bytes")]
    TooLarge { bytes: usize, limit_bytes: usize },
    #[error("not a WebAssembly component: {0}. Build the plugin for the wasm32-wasip2 target")]
    NotAComponent(String),
    #[error(
        "this plugin targets contract {found}; this server supports contract {CONTRACT_MAJOR}.x"
    )]
    UnsupportedContract { found: String },
    #[error(
        "this is not a mentortrack plugin: it exports no `{CONTRACT_PACKAGE}/plugin` interface"
    )]
    NotAPlugin,
    #[error(
        "the plugin imports `{0}`, which the mentortrack contract does not grant (plugins get no files, network, clock or randomness)"
    )]
    ForbiddenImport(String),
    #[error("the plugin cannot be linked: {0}")]
    Link(String),
}

/// One log line a plugin wrote during a call.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct LogLine {
    pub level: &'static str,
    pub message: String,
}

/// What a call cost.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct CallStats {
    pub fuel_used: u64,
    pub peak_memory_bytes: usize,
    pub output_bytes: usize,
    pub duration_us: u128,
    pub logs: Vec<LogLine>,
    /// Log lines dropped beyond the limit.
    pub logs_dropped: usize,
}

/// The store's data: limits and the call's log.
struct HostState {
    memory_limit: usize,
    table_limit: usize,
    peak_memory: usize,
    memory_refused: bool,
    logs: Vec<LogLine>,
    logs_dropped: usize,
    log_lines: usize,
    log_line_bytes: usize,
}

impl ResourceLimiter for HostState {
    fn memory_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired > self.memory_limit {
            self.memory_refused = true;
            return Ok(false);
        }
        self.peak_memory = self.peak_memory.max(desired);
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(desired <= self.table_limit)
    }
}

impl wit_log::Host for HostState {
    fn log(&mut self, level: Level, message: String) {
        if self.logs.len() >= self.log_lines {
            self.logs_dropped += 1;
            return;
        }
        let mut message = message;
        if message.len() > self.log_line_bytes {
            let mut cut = self.log_line_bytes;
            while !message.is_char_boundary(cut) {
                cut -= 1;
            }
            message.truncate(cut);
            message.push('…');
        }
        let level = match level {
            Level::Debug => "debug",
            Level::Info => "info",
            Level::Warn => "warn",
            Level::Error => "error",
        };
        self.logs.push(LogLine { level, message });
    }
}

impl wit::Host for HostState {}

/// The engine every plugin runs in. Cheap to clone.
#[derive(Clone)]
pub struct Runtime {
    inner: Arc<RuntimeInner>,
}

struct RuntimeInner {
    engine: Engine,
    linker: Linker<HostState>,
    limits: Limits,
    cache_dir: Option<PathBuf>,
    /// Key part that changes whenever compiled code would not load in this engine.
    compat: String,
    stop_ticker: Arc<AtomicBool>,
}

impl Drop for RuntimeInner {
    fn drop(&mut self) {
        self.stop_ticker.store(true, Ordering::Relaxed);
    }
}

/// A plugin version compiled and ready to instantiate.
pub struct Loaded {
    pub sha256: String,
    /// The contract version the plugin was built against, e.g. `1.0.0`.
    pub contract: String,
    pre: PartnerPluginPre<HostState>,
    /// The `score` export, found once: see [`instantiate_for_score`].
    score: ComponentExportIndex,
}

impl std::fmt::Debug for Loaded {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Loaded")
            .field("sha256", &self.sha256)
            .field("contract", &self.contract)
            .finish()
    }
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Linear memory a fresh instance may start from without page faults: the pages a call dirtied
/// are copied back to their initial contents (PAGEMAP_SCAN finds them) and stay mapped, instead
/// of being released with `madvise` and faulted in again by the next call. 2 MiB covers the
/// ~1 MiB a Rust plugin touches to score (its stack and heap) with room to spare; a call that
/// dirties more gets the rest released as before. Memory is per pool slot, so the pool keeps at
/// most this much resident per slot it has used (2 MiB × 2 memories × `concurrency` slots).
const MEMORY_KEEP_RESIDENT: usize = 2 << 20;
/// The same for tables, one page: a Rust plugin's tables fit in one (its main table holds ~80
/// functions, 8 bytes each), and a table no bigger than the page kept is reset with a `memset`
/// alone, with or without PAGEMAP_SCAN; a larger setting would cost a PAGEMAP_SCAN system call
/// per table per call, a smaller one an `madvise`.
const TABLE_KEEP_RESIDENT: usize = 4 << 10;

/// A call's wall-clock limit in epoch ticks, as every call's store is set up (at least one tick).
pub fn deadline_ticks(limits: &Limits) -> u64 {
    u64::try_from(limits.wall_clock.as_millis() / EPOCH_TICK.as_millis())
        .unwrap_or(u64::MAX)
        .max(1)
}

/// The sandbox's engine configuration for these limits, as `Runtime::new` builds its engine.
/// Public so that the benchmark (`host/benches/plugins.rs`) measures the very configuration the
/// server runs, and varies it from there.
pub fn engine_config(limits: &Limits) -> Config {
    let mut config = Config::new();
    config.wasm_component_model(true);
    config.consume_fuel(true);
    config.epoch_interruption(true);
    // Async machinery costs every synchronous call; plugins are called synchronously.
    config.concurrency_support(false);
    config.max_wasm_stack(512 << 10);
    config.allocation_strategy(InstanceAllocationStrategy::Pooling(pool_config(limits)));
    config
}

/// The pooling allocator behind [`engine_config`]: a fixed set of instance, memory and table
/// slots sized by the limits, reused call after call.
pub fn pool_config(limits: &Limits) -> PoolingAllocationConfig {
    let slots = u32::try_from(limits.concurrency).unwrap_or(16).max(1);
    let mut pool = PoolingAllocationConfig::default();
    pool.total_component_instances(slots)
        .total_core_instances(slots * 8)
        .total_memories(slots * 2)
        .total_tables(slots * 8)
        .max_memories_per_component(2)
        .max_tables_per_component(8)
        .max_memory_size(limits.memory_bytes)
        .table_elements(limits.table_elements);
    pool.table_keep_resident(TABLE_KEEP_RESIDENT);
    // Keeping memory resident pays only where the kernel can say which pages a call dirtied
    // (PAGEMAP_SCAN, Linux 6.7+). Without it wasmtime would `memset` the first
    // MEMORY_KEEP_RESIDENT bytes of every slot on every call, touched or not (a Rust plugin's
    // stack sits there, mostly untouched), which costs more than the page faults it saves; so
    // there memory keeps the pool's default (`madvise` everything back).
    if PoolingAllocationConfig::is_pagemap_scan_available() {
        pool.pagemap_scan(Enabled::Auto)
            .linear_memory_keep_resident(MEMORY_KEEP_RESIDENT);
    }
    pool
}

impl Runtime {
    /// `cache_dir`: where compiled plugins are kept between starts (`None`: compile every time).
    pub fn new(limits: Limits, cache_dir: Option<PathBuf>) -> anyhow::Result<Runtime> {
        let config = engine_config(&limits);
        let engine = Engine::new(&config)
            .map_err(|e| anyhow::anyhow!("creating the plugin engine: {e:#}"))?;

        let mut linker = Linker::<HostState>::new(&engine);
        PartnerPlugin::add_to_linker::<HostState, HasSelf<HostState>>(&mut linker, |s| s)
            .map_err(|e| anyhow::anyhow!("linking the plugin contract: {e:#}"))?;

        let compat = {
            use std::hash::{Hash, Hasher};
            let mut h = std::collections::hash_map::DefaultHasher::new();
            engine.precompile_compatibility_hash().hash(&mut h);
            format!("{:016x}", h.finish())
        };
        if let Some(dir) = &cache_dir {
            std::fs::create_dir_all(dir)
                .map_err(|e| anyhow::anyhow!("creating the plugin cache {}: {e}", dir.display()))?;
        }

        let stop_ticker = Arc::new(AtomicBool::new(false));
        {
            // The epoch is the only clock a deadline needs; a thread ticks it. It counts the
            // ticks due by the clock, not its wake-ups: on a loaded machine a 5 ms sleep can
            // last 50, and a 200 ms limit counted in wake-ups let a looping plugin run 2 s.
            let engine = engine.clone();
            let stop = stop_ticker.clone();
            std::thread::Builder::new()
                .name("plugin-epoch".into())
                .spawn(move || {
                    let started = Instant::now();
                    let mut ticked: u128 = 0;
                    while !stop.load(Ordering::Relaxed) {
                        std::thread::sleep(EPOCH_TICK);
                        let due = started.elapsed().as_millis() / EPOCH_TICK.as_millis();
                        while ticked < due {
                            engine.increment_epoch();
                            ticked += 1;
                        }
                    }
                })
                .map_err(|e| anyhow::anyhow!("starting the plugin clock: {e}"))?;
        }
        Ok(Runtime {
            inner: Arc::new(RuntimeInner {
                engine,
                linker,
                limits,
                cache_dir,
                compat,
                stop_ticker,
            }),
        })
    }

    pub fn limits(&self) -> &Limits {
        &self.inner.limits
    }

    fn cache_path(&self, sha256: &str) -> Option<PathBuf> {
        self.inner
            .cache_dir
            .as_ref()
            .map(|d| d.join(format!("{sha256}-{}.cwasm", self.inner.compat)))
    }

    /// Compiles (or loads from this host's cache) and checks a component. Blocking: call it
    /// from a blocking thread, never on the request path's async workers.
    pub fn load(&self, bytes: &[u8]) -> Result<Loaded, LoadError> {
        let limit = self.inner.limits.component_bytes;
        if bytes.len() > limit {
            return Err(LoadError::TooLarge {
                bytes: bytes.len(),
                limit_bytes: limit,
            });
        }
        if !bytes.starts_with(b"\0asm") {
            return Err(LoadError::NotAComponent(
                "it does not start with the WebAssembly magic number".into(),
            ));
        }
        if bytes.get(4..8) == Some(&[1, 0, 0, 0]) {
            return Err(LoadError::NotAComponent(
                "it is a core WebAssembly module".into(),
            ));
        }
        let sha256 = sha256_hex(bytes);
        let component = self.compile_cached(bytes, &sha256)?;
        let contract = self.check_contract(&component)?;
        let mut linker = self.inner.linker.clone();
        // Rust's standard library drags in WASI interfaces a plugin never needs; they link,
        // but any call to them traps. Anything beyond them was refused above.
        linker
            .define_unknown_imports_as_traps(&component)
            .map_err(|e| LoadError::Link(format!("{e:#}")))?;
        let score = score_export(&component, &contract).ok_or(LoadError::NotAPlugin)?;
        let pre = linker
            .instantiate_pre(&component)
            .and_then(PartnerPluginPre::new)
            .map_err(|e| LoadError::Link(format!("{e:#}")))?;
        Ok(Loaded {
            sha256,
            contract,
            pre,
            score,
        })
    }

    fn compile_cached(&self, bytes: &[u8], sha256: &str) -> Result<Component, LoadError> {
        if let Some(path) = self.cache_path(sha256)
            && path.exists()
        {
            // Read into memory rather than mapped: a mapped file truncated by anyone while in use
            // would crash the whole server (SIGBUS), not just fail one plugin.
            let artefact = std::fs::read(&path);
            // SAFETY: the cache holds only artefacts this host compiled with an engine whose
            // compatibility hash is part of the file name, written atomically (temp + rename)
            // into a directory only this host writes. `deserialize` still checks the artefact's
            // header against the engine.
            match artefact
                .map_err(wasmtime::Error::from)
                .and_then(|bytes| unsafe { Component::deserialize(&self.inner.engine, bytes) })
            {
                Ok(c) => return Ok(c),
                Err(e) => {
                    tracing::warn!(path = %path.display(), error = %e, "discarding unusable compiled plugin");
                    let _ = std::fs::remove_file(&path);
                }
            }
        }
        let component = Component::new(&self.inner.engine, bytes)
            .map_err(|e| LoadError::NotAComponent(format!("{e:#}")))?;
        if let Some(path) = self.cache_path(sha256)
            && let Err(e) = write_atomically(&path, &component)
        {
            tracing::warn!(path = %path.display(), error = %e, "could not cache a compiled plugin");
        }
        Ok(component)
    }

    /// The contract version a component targets, refusing other majors and ungranted imports.
    fn check_contract(&self, component: &Component) -> Result<String, LoadError> {
        let engine = &self.inner.engine;
        let ty = component.component_type();
        let mut found = None;
        for (name, _) in ty.exports(engine) {
            if let Some(version) = name.strip_prefix(&format!("{CONTRACT_PACKAGE}/plugin@")) {
                found = Some(version.to_string());
            }
        }
        let version = found.ok_or(LoadError::NotAPlugin)?;
        let major = version
            .split('.')
            .next()
            .and_then(|m| m.parse::<u64>().ok());
        if major != Some(CONTRACT_MAJOR) {
            return Err(LoadError::UnsupportedContract { found: version });
        }
        for (name, _) in ty.imports(engine) {
            if !import_granted(name) {
                return Err(LoadError::ForbiddenImport(name.to_string()));
            }
        }
        Ok(version)
    }

    /// Runs `run` against a fresh instance in a fresh store under the limits. `instantiate`
    /// makes the instance and picks the export to call; its failures are the plugin's failing
    /// to start, `run`'s are its failing while it runs.
    fn call<E, R>(
        &self,
        instantiate: impl FnOnce(&mut Store<HostState>) -> wasmtime::Result<E>,
        run: impl FnOnce(E, &mut Store<HostState>) -> wasmtime::Result<R>,
    ) -> (Result<R, PluginError>, CallStats) {
        let limits = &self.inner.limits;
        let started = Instant::now();
        let mut store = Store::new(
            &self.inner.engine,
            HostState {
                memory_limit: limits.memory_bytes,
                table_limit: limits.table_elements,
                peak_memory: 0,
                memory_refused: false,
                logs: Vec::new(),
                logs_dropped: 0,
                log_lines: limits.log_lines,
                log_line_bytes: limits.log_line_bytes,
            },
        );
        store.limiter(|s| s as &mut dyn ResourceLimiter);
        store.set_epoch_deadline(deadline_ticks(limits));
        let fuel_set = store.set_fuel(limits.fuel);
        let result = match fuel_set {
            Err(e) => Err(PluginError::Instantiation {
                message: format!("{e:#}"),
            }),
            Ok(()) => match instantiate(&mut store) {
                Err(e) => Err(self.classify(&store, e, true)),
                Ok(export) => run(export, &mut store).map_err(|e| self.classify(&store, e, false)),
            },
        };
        let fuel_left = store.get_fuel().unwrap_or(0);
        // The store, and the instance with it, is dropped here after every call, trap or not.
        let state = store.into_data();
        let stats = CallStats {
            fuel_used: limits.fuel.saturating_sub(fuel_left),
            peak_memory_bytes: state.peak_memory,
            output_bytes: 0,
            duration_us: started.elapsed().as_micros(),
            logs: state.logs,
            logs_dropped: state.logs_dropped,
        };
        (result, stats)
    }

    fn classify(
        &self,
        store: &Store<HostState>,
        e: wasmtime::Error,
        instantiating: bool,
    ) -> PluginError {
        let limits = &self.inner.limits;
        if store.data().memory_refused {
            return PluginError::OutOfMemory {
                limit_bytes: limits.memory_bytes,
            };
        }
        match e.downcast_ref::<Trap>() {
            Some(Trap::OutOfFuel) => PluginError::OutOfFuel { limit: limits.fuel },
            Some(Trap::Interrupt) => PluginError::Timeout {
                limit_ms: limits.wall_clock.as_millis(),
            },
            Some(Trap::StackOverflow) => PluginError::StackOverflow,
            // A Rust guest's shadow stack runs into its own data and faults out of bounds.
            Some(Trap::MemoryOutOfBounds) => PluginError::StackOverflow,
            _ if instantiating => PluginError::Instantiation {
                message: format!("{e:#}"),
            },
            _ => PluginError::Trapped {
                message: first_line(&format!("{e:#}")),
            },
        }
    }

    pub fn describe(&self, loaded: &Loaded) -> (Result<Manifest, PluginError>, CallStats) {
        let (r, mut stats) = self.call(
            |s| loaded.pre.instantiate(s),
            |p, s| p.mentortrack_plugin_plugin().call_describe(s),
        );
        let r = r.and_then(|m| {
            self.capped(
                Manifest::from(m),
                self.inner.limits.definition_bytes,
                &mut stats,
            )
        });
        (r, stats)
    }

    pub fn checklists(&self, loaded: &Loaded) -> (Result<Vec<Checklist>, PluginError>, CallStats) {
        let (r, mut stats) = self.call(
            |s| loaded.pre.instantiate(s),
            |p, s| p.mentortrack_plugin_plugin().call_checklists(s),
        );
        let r = r.and_then(|c| {
            let list: Vec<Checklist> = c.into_iter().map(Checklist::from).collect();
            self.capped(list, self.inner.limits.definition_bytes, &mut stats)
        });
        (r, stats)
    }

    /// Scores responses. `Ok(Err(refusal))` is the plugin's own, well-formed refusal (invalid
    /// responses…); `Err` is a failure of the plugin.
    pub fn score(
        &self,
        loaded: &Loaded,
        checklist_id: &str,
        responses: &[Response],
        context: &ScoreContext,
    ) -> (
        Result<Result<ScoreCard, ScoreRefusal>, PluginError>,
        CallStats,
    ) {
        let responses: Vec<wit::Response> = responses.iter().map(Into::into).collect();
        let context = wit::ScoreContext::from(context);
        let (r, mut stats) = self.call(
            |s| instantiate_for_score(loaded.pre.instance_pre(), &loaded.score, s),
            |score, s| {
                score
                    .call(s, (checklist_id.to_owned(), responses, context))
                    .map(|(outcome,)| outcome)
            },
        );
        let r = r.and_then(|outcome| match outcome {
            Ok(card) => self
                .capped(
                    ScoreCard::from(card),
                    self.inner.limits.output_bytes,
                    &mut stats,
                )
                .map(Ok),
            Err(refusal) => self
                .capped(
                    ScoreRefusal::from(refusal),
                    self.inner.limits.output_bytes,
                    &mut stats,
                )
                .map(Err),
        });
        (r, stats)
    }

    /// Measures an output as JSON and refuses it over `limit`.
    fn capped<T: Serialize>(
        &self,
        value: T,
        limit: usize,
        stats: &mut CallStats,
    ) -> Result<T, PluginError> {
        let bytes = serde_json::to_vec(&value)
            .map(|v| v.len())
            .unwrap_or(usize::MAX);
        stats.output_bytes = bytes;
        if bytes > limit {
            return Err(PluginError::OutputTooLarge {
                bytes,
                limit_bytes: limit,
            });
        }
        Ok(value)
    }
}

/// The contract's `score`, as the host calls it. Its arguments are owned, so one handle can be
/// called with arguments built afterwards (the benchmark calls one instance many times).
pub type ScoreFunc = TypedFunc<
    (String, Vec<wit::Response>, wit::ScoreContext),
    (Result<wit::ScoreCard, wit::ScoreError>,),
>;

/// Where a component exports the contract's `score` (`contract` is the version it targets).
pub fn score_export(component: &Component, contract: &str) -> Option<ComponentExportIndex> {
    let plugin =
        component.get_export_index(None, format!("{CONTRACT_PACKAGE}/plugin@{contract}"))?;
    component.get_export_index(Some(&plugin), "score")
}

/// A fresh instance of `pre` in `store`, and its `score`, as every scoring call gets them.
///
/// The generated bindings (`PartnerPluginPre::instantiate`) look up and type-check every export
/// on every instantiation; scoring needs one, so only `score` is checked. The check stays per
/// call, not per component: it is what guarantees the host's types match this component's.
pub fn instantiate_for_score<T: 'static>(
    pre: &InstancePre<T>,
    score: &ComponentExportIndex,
    store: &mut Store<T>,
) -> wasmtime::Result<ScoreFunc> {
    let instance = pre.instantiate(&mut *store)?;
    instance.get_typed_func(&mut *store, score)
}

/// The imports a plugin may have: the contract's own, and the WASI interfaces Rust's standard
/// library links against (which trap if ever called).
fn import_granted(name: &str) -> bool {
    if let Some(rest) = name.strip_prefix(&format!("{CONTRACT_PACKAGE}/")) {
        return rest
            .split_once('@')
            .and_then(|(_, v)| v.split('.').next())
            .and_then(|m| m.parse::<u64>().ok())
            == Some(CONTRACT_MAJOR);
    }
    const STD_ONLY: [&str; 9] = [
        "wasi:io/error@",
        "wasi:io/streams@",
        "wasi:io/poll@",
        "wasi:cli/environment@",
        "wasi:cli/exit@",
        "wasi:cli/stdin@",
        "wasi:cli/stdout@",
        "wasi:cli/stderr@",
        "wasi:cli/terminal-",
    ];
    STD_ONLY.iter().any(|p| name.starts_with(p))
}

fn first_line(s: &str) -> String {
    let line = s.lines().next().unwrap_or(s);
    line.chars().take(500).collect()
}

fn write_atomically(path: &Path, component: &Component) -> anyhow::Result<()> {
    let bytes = component
        .serialize()
        .map_err(|e| anyhow::anyhow!("{e:#}"))?;
    // Unique per writer: several threads or processes may compile the same plugin at once.
    let mut nonce = [0u8; 8];
    getrandom::fill(&mut nonce).map_err(|e| anyhow::anyhow!("random: {e}"))?;
    let tmp = path.with_extension(format!("tmp-{}", u64::from_le_bytes(nonce)));
    std::fs::write(&tmp, bytes)?;
    std::fs::rename(&tmp, path)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grants_only_the_contract_and_std_stubs() {
        assert!(import_granted("mentortrack:plugin/log@1.0.0"));
        assert!(import_granted("mentortrack:plugin/types@1.3.0"));
        assert!(!import_granted("mentortrack:plugin/log@2.0.0"));
        assert!(import_granted("wasi:cli/stderr@0.2.3"));
        assert!(import_granted("wasi:io/streams@0.2.3"));
        assert!(!import_granted("wasi:filesystem/types@0.2.3"));
        assert!(!import_granted("wasi:clocks/wall-clock@0.2.3"));
        assert!(!import_granted("wasi:random/random@0.2.3"));
        assert!(!import_granted("wasi:sockets/tcp@0.2.3"));
    }

    #[test]
    fn refuses_what_is_not_a_component() {
        let rt = Runtime::new(Limits::default(), None).unwrap();
        assert!(matches!(
            rt.load(b"hello"),
            Err(LoadError::NotAComponent(_))
        ));
        assert!(
            matches!(rt.load(b"\0asm\x01\0\0\0"), Err(LoadError::NotAComponent(m)) if m.contains("core"))
        );
        let big = vec![0u8; rt.limits().component_bytes + 1];
        assert!(matches!(rt.load(&big), Err(LoadError::TooLarge { .. })));
    }
}
