//! The plugin-host benchmark, required by the plugin issue. Run it with
//!
//! ```sh
//! cargo bench -p mentortrack --bench plugins             # about 75 s once built
//! cargo bench -p mentortrack --bench plugins -- --quick  # about 15 s, rough figures
//! cargo bench -p mentortrack --bench plugins -- --only sandbox  # one per-call path, alone
//! ```
//!
//! (`--only` takes a path's key in `bench_scoring`, e.g. `sandbox`, `reused`, `instantiate`: to
//! run it under a profiler such as `perf record`.)
//!
//! It prints Markdown tables; `BENCHMARKS.md` holds the last figures and how to read them.
//! Everything is measured in one process and one run. The per-call paths take turns in short
//! blocks, so they share whatever else the machine is doing: their ratios hold on a noisy
//! machine even when the absolute times drift.
//!
//! 1. Scoring the 30-item checklist of `plugins/bench-30`: natively (the same Rust code through
//!    the SDK's `Runner`, which is what the component's `score` export calls), in the sandbox
//!    (`Runtime::score`: fresh store and instance per call under the production limits), on one
//!    reused instance (the guest's work plus the boundary crossing, without the isolation), and
//!    as a naive embedder would (default engine, full WASI, `Linker::instantiate` per call).
//!    Engines built from the sandbox's own configuration (`runtime::engine_config`), varied one
//!    setting at a time, show where the time goes. Every path must produce the same score card
//!    and every fresh instance must burn the same fuel.
//! 2. Compiling each bundled plugin (`Runtime::load`, empty cache) against loading it from the
//!    warm cache.
//! 3. Starting the server (database, runtime, registry, router) with 20 active plugin versions
//!    against with none.

use std::hint::black_box;
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context, anyhow, bail, ensure};
use mentortrack::db::Db;
use mentortrack::plugins::bindings::PartnerPlugin;
use mentortrack::plugins::bindings::mentortrack::plugin::log as wit_log;
use mentortrack::plugins::bindings::mentortrack::plugin::types as wit;
use mentortrack::plugins::model::{Answer, Response, ScoreCard, ScoreContext};
use mentortrack::plugins::runtime::{self, ScoreFunc};
use mentortrack::plugins::{BUNDLED, COMPONENTS_DIR, Limits, Loaded, Registry, Runtime};
use mentortrack_plugin_sdk::{self as sdk, Plugin as _};
use wasmtime::component::{
    Component, ComponentExportIndex, HasSelf, InstancePre, Linker, ResourceTable,
};
use wasmtime::{Engine, InstanceAllocationStrategy, ResourceLimiter, Store};
use wasmtime_wasi::{WasiCtx, WasiCtxBuilder, WasiCtxView, WasiView};

const CHECKLIST: &str = bench_30::CHECKLIST;
/// A checklist id bench-30 does not have.
const UNKNOWN: &str = "no-such-checklist";
/// Repetitions of the per-call measurements; each figure is the median repetition's.
const REPETITIONS: usize = 5;
/// How long each per-call measurement runs at a stretch before the next takes its turn.
const BLOCK: Duration = Duration::from_millis(10);
/// Rounds of server starts.
const ROUNDS: usize = 3;
/// Starts timed per configuration (per round: ROUNDS rounds).
const STARTS_PER_ROUND: usize = 3;

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let quick = args.iter().any(|a| a == "--quick");
    // `--only NAME`: run one per-call path alone (for a profiler), nothing else.
    let only = args
        .iter()
        .position(|a| a == "--only")
        .map(|i| args.get(i + 1).cloned().context("--only needs a path name"))
        .transpose()?;
    let scale = if quick { 0.1 } else { 1.0 };

    print_machine(quick);
    let bench_wasm = std::fs::read(Path::new(COMPONENTS_DIR).join("bench_30.wasm"))
        .context("reading bench_30.wasm (built by host/build.rs from plugins/bench-30)")?;
    let case = Case::new();

    let scoring = bench_scoring(&case, &bench_wasm, scale, only.as_deref())?;
    if only.is_some() {
        print_scoring(&scoring);
        return Ok(());
    }
    let loads = bench_loads(if quick { 2 } else { 5 }, if quick { 10 } else { 50 })?;
    let starts = bench_starts(if quick { 1 } else { STARTS_PER_ROUND })?;

    print_scoring(&scoring);
    print_loads(&loads);
    print_starts(&starts);
    println!();
    println!("load average after: {}", load_average());
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// The machine

fn print_machine(quick: bool) {
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, v)| v.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown".into());
    let rustc =
        std::process::Command::new(std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into()))
            .arg("--version")
            .output()
            .ok()
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
            .unwrap_or_else(|| "unknown".into());
    let wasmtime = locked_version("wasmtime").unwrap_or_else(|| "unknown".into());
    println!(
        "# mentortrack plugin-host benchmark{}",
        if quick {
            " (--quick: rough figures)"
        } else {
            ""
        }
    );
    println!();
    println!("- cores (nproc): {cores}");
    println!("- CPU: {cpu}");
    println!("- {rustc}; wasmtime {wasmtime}; release profile");
    println!("- load average before: {}", load_average());
    println!();
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".into())
}

/// A package's version from the workspace's Cargo.lock.
fn locked_version(name: &str) -> Option<String> {
    let lock = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../Cargo.lock"))
        .ok()?;
    let needle = format!("name = \"{name}\"\nversion = \"");
    let at = lock.find(&needle)? + needle.len();
    lock[at..].split('"').next().map(str::to_owned)
}

// ---------------------------------------------------------------------------------------------
// Timing

/// A per-call figure: the median over the repetitions of each repetition's median, p99 and rate.
#[derive(Clone, Debug)]
struct Figure {
    median_ns: f64,
    p99_ns: f64,
    per_second: f64,
    /// Calls timed, all repetitions together.
    calls: usize,
    /// Each repetition's median, to show the spread and to pair differences.
    medians: Vec<f64>,
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    let n = values.len();
    if n == 0 {
        return f64::NAN;
    }
    if n % 2 == 1 {
        values[n / 2]
    } else {
        (values[n / 2 - 1] + values[n / 2]) / 2.0
    }
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// One repetition of a per-call measurement.
#[derive(Clone, Copy, Debug)]
struct Repetition {
    median_ns: f64,
    p99_ns: f64,
    /// Calls per second of time spent in the loop, timer included.
    per_second: f64,
    calls: usize,
}

/// A per-call measurement: warmed up, then run in short blocks in rotation with the others.
struct Measure<'a> {
    name: &'static str,
    per_block: usize,
    samples: Vec<f64>,
    busy: Duration,
    repetitions: Vec<Repetition>,
    f: Box<dyn FnMut() + 'a>,
}

impl<'a> Measure<'a> {
    fn new(name: &'static str, mut f: Box<dyn FnMut() + 'a>) -> Self {
        // Warm up (caches, branch predictors, the pooling allocator's slots), then size a block.
        let warm = Instant::now();
        let mut n = 0;
        while n < 200 || warm.elapsed() < Duration::from_millis(100) {
            f();
            n += 1;
        }
        let per_call = warm.elapsed().as_secs_f64() / n as f64;
        Measure {
            name,
            per_block: ((BLOCK.as_secs_f64() / per_call) as usize).clamp(1, 5_000),
            samples: Vec::new(),
            busy: Duration::ZERO,
            repetitions: Vec::new(),
            f,
        }
    }

    /// Times one block of calls, one by one.
    fn block(&mut self) {
        let started = Instant::now();
        for _ in 0..self.per_block {
            let t = Instant::now();
            (self.f)();
            self.samples.push(t.elapsed().as_nanos() as f64);
        }
        self.busy += started.elapsed();
    }

    fn end_repetition(&mut self) {
        let mut samples = std::mem::take(&mut self.samples);
        samples.sort_by(f64::total_cmp);
        self.repetitions.push(Repetition {
            median_ns: percentile(&samples, 50.0),
            p99_ns: percentile(&samples, 99.0),
            per_second: samples.len() as f64 / self.busy.as_secs_f64(),
            calls: samples.len(),
        });
        self.busy = Duration::ZERO;
    }

    fn figure(&self) -> Figure {
        let pick = |g: fn(&Repetition) -> f64| {
            median(&mut self.repetitions.iter().map(g).collect::<Vec<_>>())
        };
        Figure {
            median_ns: pick(|r| r.median_ns),
            p99_ns: pick(|r| r.p99_ns),
            per_second: pick(|r| r.per_second),
            calls: self.repetitions.iter().map(|r| r.calls).sum(),
            medians: self.repetitions.iter().map(|r| r.median_ns).collect(),
        }
    }
}

/// Runs every measurement `REPETITIONS` times. Within a repetition the measurements take turns
/// in blocks of about `BLOCK` for `duration` (and until each has `min_calls` calls), starting
/// the rotation one further each turn, so they all share the same background load.
fn rotate(measures: &mut [Measure<'_>], duration: Duration, min_calls: usize) {
    let n = measures.len();
    for repetition in 0..REPETITIONS {
        eprintln!(
            "repetition {}/{REPETITIONS}: {} paths in rotation for {:.0} s",
            repetition + 1,
            n,
            duration.as_secs_f64()
        );
        let started = Instant::now();
        let mut turn = 0;
        while started.elapsed() < duration || measures.iter().any(|m| m.samples.len() < min_calls) {
            for i in 0..n {
                measures[(i + turn) % n].block();
            }
            turn += 1;
        }
        for m in measures.iter_mut() {
            m.end_repetition();
        }
    }
}

// ---------------------------------------------------------------------------------------------
// 1. Scoring a 30-item checklist

/// The observation every measurement scores: a realistic mix (most steps done, some partly,
/// two not applicable, two non-critical misses), so validation, every tally, the section
/// scores and the feedback all do their work.
struct Case {
    answers: Vec<(String, Answer)>,
}

impl Case {
    fn new() -> Case {
        let runner = sdk::Runner::new(bench_30::Bench30::new());
        let checklist = runner
            .checklist(CHECKLIST)
            .expect("bench-30 has its checklist");
        let answers = checklist
            .items()
            .map(|item| {
                let answer = match item.id.as_str() {
                    "a04" | "n05" => Answer::Partly,
                    "a06" | "l06" => Answer::NotApplicable,
                    "l03" | "p05" => Answer::No,
                    _ => match item.kind {
                        sdk::ResponseKind::DonePartlyNotDone => Answer::Done,
                        _ => Answer::Yes,
                    },
                };
                (item.id.to_string(), answer)
            })
            .collect::<Vec<_>>();
        assert_eq!(answers.len(), bench_30::ITEMS);
        Case { answers }
    }

    fn host_responses(&self) -> Vec<Response> {
        self.answers
            .iter()
            .map(|(id, answer)| Response {
                item_id: id.clone(),
                answer: answer.clone(),
            })
            .collect()
    }

    fn sdk_responses(&self) -> Vec<sdk::Response> {
        self.answers
            .iter()
            .map(|(id, answer)| sdk::Response {
                item_id: id.clone(),
                answer: match answer {
                    Answer::Yes => sdk::Answer::Yes,
                    Answer::No => sdk::Answer::No,
                    Answer::NotApplicable => sdk::Answer::NotApplicable,
                    Answer::Done => sdk::Answer::Done,
                    Answer::Partly => sdk::Answer::Partly,
                    Answer::NotDone => sdk::Answer::NotDone,
                    other => unreachable!("bench-30 asks no {other:?}"),
                },
            })
            .collect()
    }

    fn host_context() -> ScoreContext {
        ScoreContext {
            session_type: "skills_drill".into(),
            mentee_cadre: "midwife".into(),
            date: "2026-01-15".into(),
            language: "en".into(),
        }
    }

    fn sdk_context() -> sdk::ScoreContext {
        let c = Self::host_context();
        sdk::ScoreContext {
            session_type: c.session_type,
            mentee_cadre: c.mentee_cadre,
            date: c.date,
            language: c.language,
        }
    }
}

/// What a score card says, comparable across the SDK's and the host's types.
fn fingerprint_host(card: &ScoreCard) -> String {
    let mut s = format!("{:?} {} |", card.percentage, card.outcome.code);
    for x in &card.sections {
        s += &format!(" {}:{}/{}", x.section_id, x.achieved, x.applicable);
    }
    s += " |";
    for f in &card.feedback {
        s += &format!(" {}:{}", f.item_id, f.level.as_str());
    }
    s += " |";
    for m in &card.metrics {
        s += &format!(" {}={}", m.name, m.value);
    }
    s
}

fn fingerprint_sdk(card: &sdk::ScoreCard) -> String {
    let signal = |s: sdk::Signal| match s {
        sdk::Signal::Green => "green",
        sdk::Signal::Amber => "amber",
        sdk::Signal::Red => "red",
        sdk::Signal::Neutral => "neutral",
    };
    let mut s = format!("{:?} {} |", card.percentage, card.outcome.code);
    for x in &card.sections {
        s += &format!(" {}:{}/{}", x.section_id, x.achieved, x.applicable);
    }
    s += " |";
    for f in &card.feedback {
        s += &format!(" {}:{}", f.item_id, signal(f.level));
    }
    s += " |";
    for m in &card.metrics {
        s += &format!(" {}={}", m.name, m.value);
    }
    s
}

/// The store data of the reused-instance measurement: the runtime's limiter and a log sink.
struct ReplicaState {
    memory_limit: usize,
    table_limit: usize,
    logs: Vec<String>,
}

impl ResourceLimiter for ReplicaState {
    fn memory_growing(
        &mut self,
        _: usize,
        desired: usize,
        _: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(desired <= self.memory_limit)
    }

    fn table_growing(
        &mut self,
        _: usize,
        desired: usize,
        _: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(desired <= self.table_limit)
    }
}

impl wit_log::Host for ReplicaState {
    fn log(&mut self, _level: wit_log::Level, message: String) {
        self.logs.push(message);
    }
}

impl wit::Host for ReplicaState {}

/// The sandbox's engine, built from the configuration `Runtime::new` uses
/// (`runtime::engine_config`), to call one instance many times and to see what each part of the
/// configuration costs. `Runtime` keeps its engine and pre-instantiated handles private, and its
/// store data with them, so the store set-up below mirrors `Runtime::call`'s: the "replica of b"
/// row and the fuel check in `bench_scoring` show any drift.
struct Replica {
    engine: Engine,
    pre: InstancePre<ReplicaState>,
    /// The `score` export, as `Runtime::load` finds it.
    score: ComponentExportIndex,
    limits: Limits,
    variant: Variant,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Variant {
    /// Exactly `Runtime::new`'s configuration.
    Production,
    /// The same without fuel metering and epoch deadlines: what the time limits cost.
    Unmetered,
    /// The same with the pool's previous setting: every page a call touched released with
    /// `madvise` when its instance is dropped, and faulted in again by the next call (no
    /// memory or tables kept resident, no PAGEMAP_SCAN).
    Madvise,
}

impl Replica {
    fn new(limits: Limits, bytes: &[u8], variant: Variant) -> anyhow::Result<Replica> {
        let mut config = runtime::engine_config(&limits);
        match variant {
            Variant::Production => {}
            Variant::Unmetered => {
                config.consume_fuel(false);
                config.epoch_interruption(false);
            }
            Variant::Madvise => {
                let mut pool = runtime::pool_config(&limits);
                pool.linear_memory_keep_resident(0)
                    .table_keep_resident(0)
                    .pagemap_scan(wasmtime::Enabled::No);
                config.allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
            }
        }
        let engine = Engine::new(&config).map_err(|e| anyhow!("{e:#}"))?;
        let mut linker = Linker::<ReplicaState>::new(&engine);
        PartnerPlugin::add_to_linker::<ReplicaState, HasSelf<ReplicaState>>(&mut linker, |s| s)
            .map_err(|e| anyhow!("{e:#}"))?;
        let component = Component::new(&engine, bytes).map_err(|e| anyhow!("{e:#}"))?;
        linker
            .define_unknown_imports_as_traps(&component)
            .map_err(|e| anyhow!("{e:#}"))?;
        let score =
            runtime::score_export(&component, sdk::CONTRACT_VERSION).context("no score export")?;
        let pre = linker
            .instantiate_pre(&component)
            .map_err(|e| anyhow!("{e:#}"))?;
        Ok(Replica {
            engine,
            pre,
            score,
            limits,
            variant,
        })
    }

    /// A store set up as `Runtime` sets up each call's.
    fn store(&self) -> Store<ReplicaState> {
        let mut store = Store::new(
            &self.engine,
            ReplicaState {
                memory_limit: self.limits.memory_bytes,
                table_limit: self.limits.table_elements,
                logs: Vec::new(),
            },
        );
        store.limiter(|s| s as &mut dyn ResourceLimiter);
        self.rearm(&mut store);
        store
    }

    /// Fuel and deadline for one call.
    fn rearm(&self, store: &mut Store<ReplicaState>) {
        if self.variant != Variant::Unmetered {
            store.set_epoch_deadline(runtime::deadline_ticks(&self.limits));
            store.set_fuel(self.limits.fuel).expect("fuel is on");
        }
    }

    /// A fresh store and instance and its `score`, as `Runtime::score` makes for each call
    /// (with the same function).
    fn instantiate(&self) -> (ScoreFunc, Store<ReplicaState>) {
        let mut store = self.store();
        let score = runtime::instantiate_for_score(&self.pre, &self.score, &mut store)
            .expect("instantiates");
        (score, store)
    }

    /// One score call, with the conversions and output cap `Runtime::score` does.
    fn score(
        &self,
        score: &ScoreFunc,
        store: &mut Store<ReplicaState>,
        responses: &[Response],
        context: &ScoreContext,
    ) -> anyhow::Result<ScoreCard> {
        let responses: Vec<wit::Response> = responses.iter().map(Into::into).collect();
        let context = wit::ScoreContext::from(context);
        let (card,) = score
            .call(&mut *store, (CHECKLIST.to_owned(), responses, context))
            .map_err(|e| anyhow!("{e:#}"))?;
        let card = card.map_err(|e| anyhow!("refused: {e:?}"))?;
        let card = ScoreCard::from(card);
        let bytes = serde_json::to_vec(&card)?.len();
        ensure!(bytes <= self.limits.output_bytes, "output too large");
        Ok(card)
    }

    /// The same call for a checklist the plugin does not have: everything a score call does
    /// (the 30 responses cross the boundary, the guest's runtime starts) except building the
    /// checklist and scoring. bench-30's `checklist` answers `None` at once.
    fn score_unknown(
        &self,
        score: &ScoreFunc,
        store: &mut Store<ReplicaState>,
        responses: &[Response],
        context: &ScoreContext,
    ) -> anyhow::Result<()> {
        let responses: Vec<wit::Response> = responses.iter().map(Into::into).collect();
        let context = wit::ScoreContext::from(context);
        let (refusal,) = score
            .call(&mut *store, (UNKNOWN.to_owned(), responses, context))
            .map_err(|e| anyhow!("{e:#}"))?;
        match refusal {
            Err(wit::ScoreError::UnknownChecklist(id)) if id == UNKNOWN => Ok(()),
            other => bail!("expected unknown-checklist, got {other:?}"),
        }
    }
}

/// What a first-attempt embedder writes: default engine, full WASI p2 context, the contract's
/// `log` import, and `Linker::instantiate` into a fresh store per call.
struct NaiveState {
    wasi: WasiCtx,
    table: ResourceTable,
    logs: Vec<String>,
}

impl WasiView for NaiveState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl wit_log::Host for NaiveState {
    fn log(&mut self, _level: wit_log::Level, message: String) {
        self.logs.push(message);
    }
}

impl wit::Host for NaiveState {}

struct Naive {
    engine: Engine,
    linker: Linker<NaiveState>,
    component: Component,
}

impl Naive {
    fn new(bytes: &[u8]) -> anyhow::Result<Naive> {
        let engine = Engine::default();
        let mut linker = Linker::<NaiveState>::new(&engine);
        wasmtime_wasi::p2::add_to_linker_sync(&mut linker).map_err(|e| anyhow!("{e:#}"))?;
        PartnerPlugin::add_to_linker::<NaiveState, HasSelf<NaiveState>>(&mut linker, |s| s)
            .map_err(|e| anyhow!("{e:#}"))?;
        // Compiled once, outside the timing.
        let component = Component::new(&engine, bytes).map_err(|e| anyhow!("{e:#}"))?;
        Ok(Naive {
            engine,
            linker,
            component,
        })
    }

    fn score(&self, responses: &[Response], context: &ScoreContext) -> anyhow::Result<ScoreCard> {
        let mut store = Store::new(
            &self.engine,
            NaiveState {
                wasi: WasiCtxBuilder::new().build(),
                table: ResourceTable::new(),
                logs: Vec::new(),
            },
        );
        let plugin = PartnerPlugin::instantiate(&mut store, &self.component, &self.linker)
            .map_err(|e| anyhow!("{e:#}"))?;
        let responses: Vec<wit::Response> = responses.iter().map(Into::into).collect();
        let context = wit::ScoreContext::from(context);
        let card = plugin
            .mentortrack_plugin_plugin()
            .call_score(&mut store, CHECKLIST, &responses, &context)
            .map_err(|e| anyhow!("{e:#}"))?
            .map_err(|e| anyhow!("refused: {e:?}"))?;
        Ok(ScoreCard::from(card))
    }
}

struct Scoring {
    figures: Vec<(&'static str, Figure)>,
    fuel_used: u64,
    /// Fuel of a call on an instance that has already scored once.
    fuel_reused: u64,
    /// Fuel of an unknown-checklist call on a fresh instance and on a reused one.
    fuel_unknown: (u64, u64),
    /// Linear memory the pool keeps mapped for the next instance after one call: the pages the
    /// call dirtied, copied back to their initial contents.
    resident_after_call: usize,
    peak_memory: usize,
    output_bytes: usize,
    wasm_bytes: usize,
}

impl Scoring {
    fn get(&self, key: &str) -> Option<&Figure> {
        self.figures.iter().find(|(k, _)| *k == key).map(|(_, f)| f)
    }
}

fn sandbox_score(
    runtime: &Runtime,
    loaded: &Loaded,
    responses: &[Response],
    context: &ScoreContext,
) -> ScoreCard {
    match runtime.score(loaded, CHECKLIST, responses, context).0 {
        Ok(Ok(card)) => card,
        other => panic!("the sandbox did not score: {other:?}"),
    }
}

fn bench_scoring(
    case: &Case,
    wasm: &[u8],
    scale: f64,
    only: Option<&str>,
) -> anyhow::Result<Scoring> {
    // Each path gets about a twelfth of this per repetition (a second or so in all).
    let duration = Duration::from_secs_f64(12.0 * scale);
    let min_calls = (2_000.0 * scale) as usize;
    let responses = case.host_responses();
    let sdk_responses = case.sdk_responses();
    let context = Case::host_context();
    let sdk_context = Case::sdk_context();

    // Native: the plugin's own code through the SDK's Runner, as the component's export runs it.
    let runner = sdk::Runner::new(bench_30::Bench30::new());
    let native_card = runner
        .score(CHECKLIST, &sdk_responses, &sdk_context)
        .map_err(|e| anyhow!("native refused: {e:?}"))?;

    // Sandboxed: the production runtime and limits.
    let limits = Limits::default();
    let runtime = Runtime::new(limits.clone(), None)?;
    let loaded = runtime.load(wasm).map_err(|e| anyhow!("{e}"))?;
    let (result, stats) = runtime.score(&loaded, CHECKLIST, &responses, &context);
    let sandbox_card = match result {
        Ok(Ok(card)) => card,
        other => bail!("the sandbox did not score: {other:?}"),
    };

    let production = Replica::new(limits.clone(), wasm, Variant::Production)?;
    let unmetered = Replica::new(limits.clone(), wasm, Variant::Unmetered)?;
    let madvise = Replica::new(limits.clone(), wasm, Variant::Madvise)?;
    let (reused, mut reused_store) = production.instantiate();
    let (reused_unmetered, mut reused_unmetered_store) = unmetered.instantiate();
    let (reused_unknown, mut reused_unknown_store) = production.instantiate();
    production.score_unknown(
        &reused_unknown,
        &mut reused_unknown_store,
        &responses,
        &context,
    )?;
    let naive = Naive::new(wasm)?;

    // Every path must compute the same card, or the comparison means nothing.
    let expected = fingerprint_host(&sandbox_card);
    ensure!(
        fingerprint_sdk(&native_card) == expected,
        "native and sandbox cards differ"
    );
    for (name, replica) in [
        ("production", &production),
        ("unmetered", &unmetered),
        ("madvise", &madvise),
    ] {
        let (plugin, mut store) = replica.instantiate();
        let card = replica.score(&plugin, &mut store, &responses, &context)?;
        ensure!(
            card == sandbox_card,
            "{name} replica and sandbox cards differ"
        );
    }
    ensure!(
        production.score(&reused, &mut reused_store, &responses, &context)? == sandbox_card,
        "reused-instance and sandbox cards differ"
    );
    // Fuel counts the guest's instructions exactly. A fresh instance's call includes the
    // guest's setup (the SDK builds the checklist scored); a reused one's does not, the SDK
    // keeps it. Memory kept resident by the pool must still start every instance from pristine
    // memory: the same fuel, call after call, as with the pages released by `madvise`.
    // (Counted from the store's creation, as `Runtime` counts: instantiating takes a little.)
    let fuel_of = |replica: &Replica, plugin: &ScoreFunc, store: &mut Store<ReplicaState>| {
        replica
            .score(plugin, store, &responses, &context)
            .map(|_| limits.fuel - store.get_fuel().unwrap_or(0))
    };
    production.rearm(&mut reused_store);
    let fuel_reused = fuel_of(&production, &reused, &mut reused_store)?;
    let fuel_fresh = {
        let (plugin, mut store) = production.instantiate();
        fuel_of(&production, &plugin, &mut store)?
    };
    ensure!(
        fuel_fresh == stats.fuel_used,
        "the replica's call ({fuel_fresh} fuel) is not the sandbox's ({})",
        stats.fuel_used
    );
    for replica in [&production, &madvise, &production] {
        let (plugin, mut store) = replica.instantiate();
        let fuel = fuel_of(replica, &plugin, &mut store)?;
        ensure!(
            fuel == fuel_fresh,
            "an instance did not start fresh ({fuel} fuel, not {fuel_fresh})"
        );
    }
    let unknown_fuel_of = |plugin: &ScoreFunc, store: &mut Store<ReplicaState>| {
        production
            .score_unknown(plugin, store, &responses, &context)
            .map(|()| limits.fuel - store.get_fuel().unwrap_or(0))
    };
    let fuel_unknown = {
        let (plugin, mut store) = production.instantiate();
        let fresh = unknown_fuel_of(&plugin, &mut store)?;
        production.rearm(&mut store);
        (fresh, unknown_fuel_of(&plugin, &mut store)?)
    };
    let resident_after_call = {
        let (plugin, mut store) = production.instantiate();
        production.score(&plugin, &mut store, &responses, &context)?;
        drop((plugin, store));
        production
            .engine
            .pooling_allocator_metrics()
            .map_or(0, |m| m.unused_memory_bytes_resident())
    };
    ensure!(
        naive.score(&responses, &context)? == sandbox_card,
        "naive and sandbox cards differ"
    );
    ensure!(
        sandbox_card.outcome.code == "needs-improvement" && !sandbox_card.feedback.is_empty(),
        "the benchmark's observation no longer exercises the rule: {expected}"
    );
    eprintln!(
        "fuel per call: {fuel_fresh} fresh, {fuel_reused} on a reused instance; \
         {} KiB kept resident after a call",
        resident_after_call / 1024
    );

    let fresh_call = |replica: &Replica| {
        let (plugin, mut store) = replica.instantiate();
        black_box(
            replica
                .score(&plugin, &mut store, black_box(&responses), &context)
                .expect("scores"),
        );
    };
    let mut measures: Vec<Measure<'_>> = Vec::new();
    // Warms up and sizes the measurement, unless `--only` names another.
    fn add<'a>(
        measures: &mut Vec<Measure<'a>>,
        only: Option<&str>,
        name: &'static str,
        f: Box<dyn FnMut() + 'a>,
    ) {
        if only.is_none_or(|o| o == name) {
            measures.push(Measure::new(name, f));
        }
    }
    add(
        &mut measures,
        only,
        "native",
        Box::new(|| {
            black_box(
                runner
                    .score(CHECKLIST, black_box(&sdk_responses), &sdk_context)
                    .is_ok(),
            );
        }),
    );
    add(
        &mut measures,
        only,
        "sandbox",
        Box::new(|| {
            black_box(sandbox_score(
                &runtime,
                &loaded,
                black_box(&responses),
                &context,
            ));
        }),
    );
    add(
        &mut measures,
        only,
        "naive",
        Box::new(|| {
            black_box(
                naive
                    .score(black_box(&responses), &context)
                    .expect("scores"),
            );
        }),
    );
    add(
        &mut measures,
        only,
        "reused",
        Box::new(|| {
            production.rearm(&mut reused_store);
            black_box(
                production
                    .score(&reused, &mut reused_store, black_box(&responses), &context)
                    .expect("scores"),
            );
        }),
    );
    add(
        &mut measures,
        only,
        "replica",
        Box::new(|| fresh_call(&production)),
    );
    add(
        &mut measures,
        only,
        "instantiate",
        Box::new(|| {
            black_box(production.instantiate());
        }),
    );
    add(
        &mut measures,
        only,
        "unknown",
        Box::new(|| {
            let (score, mut store) = production.instantiate();
            production
                .score_unknown(&score, &mut store, black_box(&responses), &context)
                .expect("refuses");
        }),
    );
    add(
        &mut measures,
        only,
        "reused unknown",
        Box::new(|| {
            production.rearm(&mut reused_unknown_store);
            production
                .score_unknown(
                    &reused_unknown,
                    &mut reused_unknown_store,
                    black_box(&responses),
                    &context,
                )
                .expect("refuses");
        }),
    );
    add(
        &mut measures,
        only,
        "native first",
        Box::new(|| {
            // What a fresh instance's first call does natively: the SDK builds the checklist.
            let runner = sdk::Runner::new(bench_30::Bench30::new());
            black_box(
                runner
                    .score(CHECKLIST, black_box(&sdk_responses), &sdk_context)
                    .is_ok(),
            );
        }),
    );
    add(
        &mut measures,
        only,
        "unmetered",
        Box::new(|| fresh_call(&unmetered)),
    );
    add(
        &mut measures,
        only,
        "reused unmetered",
        Box::new(|| {
            black_box(
                unmetered
                    .score(
                        &reused_unmetered,
                        &mut reused_unmetered_store,
                        black_box(&responses),
                        &context,
                    )
                    .expect("scores"),
            );
        }),
    );
    add(
        &mut measures,
        only,
        "madvise",
        Box::new(|| fresh_call(&madvise)),
    );
    add(
        &mut measures,
        only,
        "instantiate madvise",
        Box::new(|| {
            black_box(madvise.instantiate());
        }),
    );
    ensure!(!measures.is_empty(), "--only names no measurement");
    rotate(&mut measures, duration, min_calls);
    Ok(Scoring {
        figures: measures.iter().map(|m| (m.name, m.figure())).collect(),
        fuel_used: stats.fuel_used,
        fuel_reused,
        fuel_unknown,
        resident_after_call,
        peak_memory: stats.peak_memory_bytes,
        output_bytes: stats.output_bytes,
        wasm_bytes: wasm.len(),
    })
}

fn us(ns: f64) -> String {
    let us = ns / 1000.0;
    if us >= 100.0 {
        format!("{us:.0}")
    } else if us >= 10.0 {
        format!("{us:.1}")
    } else {
        format!("{us:.2}")
    }
}

fn rate(per_second: f64) -> String {
    let n = per_second.round() as u64;
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn met(ok: bool) -> &'static str {
    if ok { "**met**" } else { "**not met**" }
}

/// `a − b` per repetition (the two ran in the same rotation): the median and the range.
fn paired_difference(a: &Figure, b: &Figure) -> (f64, f64, f64) {
    let mut d: Vec<f64> = a
        .medians
        .iter()
        .zip(&b.medians)
        .map(|(x, y)| x - y)
        .collect();
    let lo = d.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = d.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    (median(&mut d), lo, hi)
}

fn spread(f: &Figure) -> String {
    let lo = f.medians.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = f.medians.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    format!("{}–{}", us(lo), us(hi))
}

fn print_scoring(s: &Scoring) {
    println!(
        "## 1. Scoring the 30-item checklist (`plugins/bench-30`, {} KB component)",
        s.wasm_bytes / 1024
    );
    println!();
    println!(
        "Per call, single-threaded. {REPETITIONS} repetitions; in each, every path runs in ~{} ms blocks in rotation with the others, so all share the same background load. Figures are the median repetition's; \"spread\" is the range of the repetitions' medians.",
        BLOCK.as_millis()
    );
    let header = || {
        println!();
        println!(
            "| path | calls | median µs | p99 µs | spread µs | calls/s (one core) | compared with | ratio |"
        );
        println!("|---|---:|---:|---:|---:|---:|---|---:|");
    };
    // A row per measured path; with `--only`, the others are simply left out.
    let row = |name: &str, key: &str, base: Option<(&str, &str)>| {
        let Some(x) = s.get(key) else { return };
        let (against, ratio) = match base.and_then(|(label, b)| Some((label, s.get(b)?))) {
            Some((label, b)) => (
                label.to_owned(),
                format!("{:.2}×", x.median_ns / b.median_ns),
            ),
            None => ("—".to_owned(), "—".to_owned()),
        };
        println!(
            "| {name} | {} | {} | {} | {} | {} | {against} | {ratio} |",
            x.calls,
            us(x.median_ns),
            us(x.p99_ns),
            spread(x),
            rate(x.per_second)
        );
    };
    header();
    row("a. native Rust (SDK `Runner::score`)", "native", None);
    row(
        "b. sandbox (`Runtime::score`: fresh store + instance, production limits)",
        "sandbox",
        Some(("a", "native")),
    );
    row(
        "c. naive embedder (default engine, WASI p2, `instantiate` per call)",
        "naive",
        Some(("b", "sandbox")),
    );
    row(
        "d. reused instance (one store, fuel and deadline reset per call)",
        "reused",
        Some(("a", "native")),
    );
    println!();
    println!(
        "Where the sandbox's time goes: engines built from the sandbox's own configuration (`runtime::engine_config`), varied one thing at a time."
    );
    header();
    row(
        "replica of b (a check: should match b)",
        "replica",
        Some(("b", "sandbox")),
    );
    row("fresh store + instantiate, no call", "instantiate", None);
    row(
        "fresh store + instantiate + `score` of an unknown checklist (all but building the checklist and scoring)",
        "unknown",
        None,
    );
    row(
        "the same `score` of an unknown checklist on the reused instance",
        "reused unknown",
        None,
    );
    row(
        "native first call: a new `Runner` scores (builds the checklist, as a fresh instance does)",
        "native first",
        Some(("a", "native")),
    );
    row(
        "b without fuel and epoch deadline",
        "unmetered",
        Some(("b", "sandbox")),
    );
    row(
        "d without fuel and epoch deadline",
        "reused unmetered",
        Some(("d", "reused")),
    );
    row(
        "b with the pool's previous setting (memory released by `madvise`, faulted in again)",
        "madvise",
        Some(("b", "sandbox")),
    );
    row(
        "fresh store + instantiate, no call, previous pool setting",
        "instantiate madvise",
        Some(("fresh store + instantiate", "instantiate")),
    );
    println!();
    let all = [
        "native",
        "sandbox",
        "naive",
        "reused",
        "instantiate",
        "unknown",
        "reused unknown",
        "native first",
        "unmetered",
        "reused unmetered",
        "madvise",
    ];
    if all.iter().any(|k| s.get(k).is_none()) {
        return; // `--only`: no derived figures
    }
    let f = |key: &str| s.get(key).expect("checked above");
    let (overhead, lo, hi) = paired_difference(f("sandbox"), f("reused"));
    let (old_pool, old_lo, old_hi) = paired_difference(f("madvise"), f("reused"));
    let instantiate = f("instantiate").median_ns;
    // Measured, each paired by repetition: a fresh instance's call for an unknown checklist
    // against the same call on the reused instance is everything isolation adds except
    // building the checklist; what b − d adds beyond that is building the checklist (and
    // resetting the pages doing so dirtied).
    let (fixed, fixed_lo, fixed_hi) = paired_difference(f("unknown"), f("reused unknown"));
    let setup_fuel = s.fuel_used.saturating_sub(s.fuel_reused);
    println!(
        "| derived figure (differences paired by repetition: median, range) | value | target |"
    );
    println!("|---|---:|---|");
    println!(
        "| **isolation overhead** = b − d: fresh store + instance, the guest's per-instance setup, teardown | **{} µs** ({}–{}) | < 20 µs: {} |",
        us(overhead),
        us(lo),
        us(hi),
        met(overhead < 20_000.0)
    );
    println!(
        "|   of which a fresh instance for a call, without building the checklist (unknown-checklist call: fresh − reused) | {} µs ({}–{}) | |",
        us(fixed),
        us(fixed_lo),
        us(fixed_hi)
    );
    println!(
        "|     of which fresh store + instantiate + teardown, no call | {} µs | |",
        us(instantiate)
    );
    println!(
        "|   of which the guest building the checklist it scores ({setup_fuel} instructions of fuel): the rest | {} µs | |",
        us(overhead - fixed)
    );
    println!(
        "| isolation overhead with the pool's previous setting = (b, madvise) − d | {} µs ({}–{}) | |",
        us(old_pool),
        us(old_lo),
        us(old_hi)
    );
    println!(
        "| the guest's first-call setup natively (native first − a) | {} µs | |",
        us(f("native first").median_ns - f("native").median_ns)
    );
    println!(
        "| sandbox / native (b / a) | {:.1}× | |",
        f("sandbox").median_ns / f("native").median_ns
    );
    println!(
        "| naive / sandbox (c / b) | {:.2}× | |",
        f("naive").median_ns / f("sandbox").median_ns
    );
    println!(
        "| naive / sandbox, both without fuel and deadline: the embedding alone | {:.2}× | |",
        f("naive").median_ns / f("unmetered").median_ns
    );
    println!(
        "| the guest's scoring work, wasm / native (d / a) | {:.1}× | |",
        f("reused").median_ns / f("native").median_ns
    );
    println!(
        "| what fuel and the deadline cost the guest's work (d / d unmetered) | {:.2}× | |",
        f("reused").median_ns / f("reused unmetered").median_ns
    );
    println!(
        "| fuel used per call / limit | {} / {} ({:.3} %) | |",
        s.fuel_used,
        Limits::default().fuel,
        s.fuel_used as f64 / Limits::default().fuel as f64 * 100.0
    );
    println!(
        "| fuel of a call on a reused instance (no guest setup) | {} ({:.0} % of a fresh call) | |",
        s.fuel_reused,
        s.fuel_reused as f64 / s.fuel_used as f64 * 100.0
    );
    println!(
        "| fuel of the unknown-checklist call: fresh instance / reused | {} / {} | |",
        s.fuel_unknown.0, s.fuel_unknown.1
    );
    println!(
        "| guest memory per call (peak) / score card as JSON | {} KiB / {} B | |",
        s.peak_memory / 1024,
        s.output_bytes
    );
    println!(
        "| guest memory a call dirties, reset and kept resident for the next instance | {} KiB ({} pages of 4 KiB) | |",
        s.resident_after_call / 1024,
        s.resident_after_call / 4096
    );
    println!();
}

// ---------------------------------------------------------------------------------------------
// 2. Compiling against loading from the cache

struct LoadFigure {
    file: &'static str,
    bytes: usize,
    compile_ms: f64,
    cached_ms: f64,
}

fn clear_dir(dir: &Path) -> anyhow::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        std::fs::remove_file(entry?.path())?;
    }
    Ok(())
}

fn bench_loads(compiles: usize, cached_loads: usize) -> anyhow::Result<Vec<LoadFigure>> {
    let dir = tempfile::tempdir()?;
    let runtime = Runtime::new(Limits::default(), Some(dir.path().to_owned()))?;
    let mut out = Vec::new();
    for (file, bytes) in BUNDLED {
        eprintln!("compile / cached load: {file}");
        let mut compile = Vec::new();
        for _ in 0..compiles {
            clear_dir(dir.path())?;
            let t = Instant::now();
            black_box(runtime.load(bytes).map_err(|e| anyhow!("{file}: {e}"))?);
            compile.push(t.elapsed().as_secs_f64() * 1e3);
        }
        // The cache now holds this plugin: every load below reads it.
        let mut cached = Vec::new();
        for _ in 0..cached_loads {
            let t = Instant::now();
            black_box(runtime.load(bytes).map_err(|e| anyhow!("{file}: {e}"))?);
            cached.push(t.elapsed().as_secs_f64() * 1e3);
        }
        out.push(LoadFigure {
            file,
            bytes: bytes.len(),
            compile_ms: median(&mut compile),
            cached_ms: median(&mut cached),
        });
    }
    Ok(out)
}

fn print_loads(loads: &[LoadFigure]) {
    println!("## 2. Compiling a plugin against loading it from the cache (`Runtime::load`)");
    println!();
    println!(
        "Medians; compile = empty cache directory (compile, check, write the artefact); cached = warm cache (hash, read, deserialize, check)."
    );
    println!();
    println!("| plugin | size KB | compile ms | cached load ms | compile / cached |");
    println!("|---|---:|---:|---:|---:|");
    for l in loads {
        println!(
            "| {} | {} | {:.1} | {:.2} | {:.0}× |",
            l.file,
            l.bytes / 1024,
            l.compile_ms,
            l.cached_ms,
            l.compile_ms / l.cached_ms
        );
    }
    println!();
}

// ---------------------------------------------------------------------------------------------
// 3. Server start with 20 plugin versions

const VERSIONS: [&str; 5] = ["1.0.0", "1.1.0", "1.2.0", "2.0.0", "2.1.0"];
/// Plugin versions the start is measured with (the issue's figure): the bundled plugins share
/// them out, each under as many of `VERSIONS` as it takes.
const START_VERSIONS: usize = 20;

async fn seed_organisations(db: &Db) -> anyhow::Result<()> {
    let now = mentortrack::time::now();
    for (code, kind) in [
        ("RAM", "professional_association"),
        ("RPA", "professional_association"),
        ("RSOG", "professional_association"),
        ("JHPIEGO", "ngo"),
        ("CARE", "ngo"),
    ] {
        sqlx::query(
            "INSERT INTO organisations (code, name, kind, country, created_at, updated_at)
             VALUES ($1, $2, $3, 'RW', $4, $4)",
        )
        .bind(code)
        .bind(format!("{code} (benchmark)"))
        .bind(kind)
        .bind(&now)
        .execute(db.pool())
        .await?;
    }
    Ok(())
}

/// Inserts the bundled plugins under `START_VERSIONS` version numbers in all, all active, as
/// `lifecycle::install` and an activation would leave them.
async fn seed_versions(db: &Db, runtime: &Runtime) -> anyhow::Result<usize> {
    let now = mentortrack::time::now();
    let mut n = 0;
    for (file, bytes) in BUNDLED {
        let loaded = runtime.load(bytes).map_err(|e| anyhow!("{file}: {e}"))?;
        let manifest = runtime
            .describe(&loaded)
            .0
            .map_err(|e| anyhow!("{file}: {e}"))?;
        let checklists = runtime
            .checklists(&loaded)
            .0
            .map_err(|e| anyhow!("{file}: {e}"))?;
        let org: i64 = sqlx::query_scalar("SELECT id FROM organisations WHERE code = $1")
            .bind(&manifest.publisher)
            .fetch_one(db.pool())
            .await
            .with_context(|| format!("{file}: publisher {}", manifest.publisher))?;
        let per_plugin = START_VERSIONS.div_ceil(BUNDLED.len());
        for version in VERSIONS.iter().take(per_plugin) {
            sqlx::query(
                "INSERT INTO plugin_versions (organisation_id, plugin_key, version, name, contract_version, sha256,
                    size_bytes, component, manifest_json, checklists_json, status, uploaded_by, uploaded_at,
                    status_changed_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 'active', NULL, $11, $11)",
            )
            .bind(org)
            .bind(&manifest.id)
            .bind(*version)
            .bind(&manifest.name.default)
            .bind(&loaded.contract)
            .bind(&loaded.sha256)
            .bind(bytes.len() as i64)
            .bind(bytes.to_vec())
            .bind(serde_json::to_string(&manifest)?)
            .bind(serde_json::to_string(&checklists)?)
            .bind(&now)
            .execute(db.pool())
            .await?;
            n += 1;
        }
    }
    sqlx::query("UPDATE plugin_state SET generation = generation + 1 WHERE id = 1")
        .execute(db.pool())
        .await?;
    Ok(n)
}

#[derive(Default)]
struct StartTimes {
    total: Vec<f64>,
    db_open: Vec<f64>,
    runtime_new: Vec<f64>,
    registry_start: Vec<f64>,
    router: Vec<f64>,
}

/// One server start as `mentortrack serve` does it, up to a built router.
async fn start_once(
    url: &str,
    cache: &Path,
    expect_ready: usize,
    times: &mut StartTimes,
) -> anyhow::Result<()> {
    let t0 = Instant::now();
    let db = Db::open(url).await?;
    let t1 = Instant::now();
    let runtime = Runtime::new(Limits::default(), Some(cache.to_owned()))?;
    let t2 = Instant::now();
    let registry = Registry::start(db.clone(), runtime).await?;
    let t3 = Instant::now();
    let router = mentortrack::server::app(
        db.clone(),
        mentortrack::config::Config::default(),
        registry.clone(),
    );
    let t4 = Instant::now();
    black_box(&router);
    let ms = |a: Instant, b: Instant| (b - a).as_secs_f64() * 1e3;
    times.total.push(ms(t0, t4));
    times.db_open.push(ms(t0, t1));
    times.runtime_new.push(ms(t1, t2));
    times.registry_start.push(ms(t2, t3));
    times.router.push(ms(t3, t4));
    // Every seeded version must have loaded, or the figure is of a smaller server.
    let mut ready = 0;
    for id in 1..=expect_ready as i64 {
        ready += usize::from(registry.is_ready(id).await);
    }
    ensure!(
        ready == expect_ready,
        "only {ready} of {expect_ready} plugin versions loaded"
    );
    drop(router);
    drop(registry);
    db.pool().close().await;
    Ok(())
}

struct Starts {
    with: StartTimes,
    without: StartTimes,
    versions: usize,
}

fn bench_starts(per_round: usize) -> anyhow::Result<Starts> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    rt.block_on(async {
        let dir = tempfile::tempdir()?;
        let cache = dir.path().join("plugin-cache");
        let with_url = format!("sqlite://{}/with-plugins.db", dir.path().display());
        let without_url = format!("sqlite://{}/without-plugins.db", dir.path().display());

        let versions = {
            let db = Db::open(&with_url).await?;
            seed_organisations(&db).await?;
            let n = seed_versions(&db, &Runtime::new(Limits::default(), None)?).await?;
            // Warm the cache as a previous run of the server would have.
            let registry = Registry::start(
                db.clone(),
                Runtime::new(Limits::default(), Some(cache.clone()))?,
            )
            .await?;
            drop(registry);
            db.pool().close().await;
            n
        };
        {
            let db = Db::open(&without_url).await?;
            seed_organisations(&db).await?;
            db.pool().close().await;
        }

        let mut with = StartTimes::default();
        let mut without = StartTimes::default();
        // One unmeasured start of each, then interleaved rounds.
        start_once(&with_url, &cache, versions, &mut StartTimes::default()).await?;
        start_once(&without_url, &cache, 0, &mut StartTimes::default()).await?;
        for r in 0..ROUNDS {
            eprintln!("round {}/{ROUNDS}: server starts", r + 1);
            for _ in 0..per_round {
                start_once(&with_url, &cache, versions, &mut with).await?;
                start_once(&without_url, &cache, 0, &mut without).await?;
            }
        }
        Ok(Starts {
            with,
            without,
            versions,
        })
    })
}

fn print_starts(s: &Starts) {
    let n = s.with.total.len();
    println!(
        "## 3. Server start, warm plugin cache: {} active plugin versions against none",
        s.versions
    );
    println!();
    println!(
        "`Db::open` (SQLite, migrations checked) + `Runtime::new` + `Registry::start` + `server::app`; median and max of {n} starts each, interleaved."
    );
    println!();
    println!(
        "| phase | {} versions: median ms | max ms | no plugins (baseline): median ms | max ms | difference ms | ratio |",
        s.versions
    );
    println!("|---|---:|---:|---:|---:|---:|---:|");
    let row = |name: &str, a: &[f64], b: &[f64]| {
        let (mut a, mut b) = (a.to_vec(), b.to_vec());
        let max = |v: &[f64]| v.iter().copied().fold(f64::NAN, f64::max);
        let (ma, mb) = (median(&mut a), median(&mut b));
        println!(
            "| {name} | {ma:.1} | {:.1} | {mb:.1} | {:.1} | {:+.1} | {:.1}× |",
            max(&a),
            max(&b),
            ma - mb,
            ma / mb
        );
    };
    row("**total**", &s.with.total, &s.without.total);
    row("Db::open", &s.with.db_open, &s.without.db_open);
    row("Runtime::new", &s.with.runtime_new, &s.without.runtime_new);
    row(
        "Registry::start",
        &s.with.registry_start,
        &s.without.registry_start,
    );
    row("server::app (router)", &s.with.router, &s.without.router);
    let mut total = s.with.total.clone();
    let m = median(&mut total);
    println!();
    println!(
        "Target: start with {} plugin versions under 1 s: {} ({m:.0} ms median).",
        s.versions,
        met(m < 1000.0)
    );
}
