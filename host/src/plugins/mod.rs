//! Partner plugins: WebAssembly components that describe checklists and score observations,
//! run in a sandbox (see `runtime`). The contract is `wit/plugin.wit`.

pub mod bindings;
pub mod checks;
pub mod grants;
pub mod lifecycle;
pub mod model;
pub mod registry;
pub mod runtime;
pub mod template;
pub mod tool;

pub use registry::Registry;

/// Where the build put the components compiled from `plugins/` (partner and test plugins).
pub const COMPONENTS_DIR: &str = env!("MENTORTRACK_COMPONENTS_DIR");

/// The partner plugins shipped with mentortrack, built from `plugins/` with the server.
pub const BUNDLED: [(&str, &[u8]); 5] = [
    (
        "midwives_ldhf.wasm",
        include_bytes!(concat!(
            env!("MENTORTRACK_COMPONENTS_DIR"),
            "/midwives_ldhf.wasm"
        )),
    ),
    (
        "hbb.wasm",
        include_bytes!(concat!(env!("MENTORTRACK_COMPONENTS_DIR"), "/hbb.wasm")),
    ),
    (
        "emonc.wasm",
        include_bytes!(concat!(env!("MENTORTRACK_COMPONENTS_DIR"), "/emonc.wasm")),
    ),
    (
        "jhpiego_qi.wasm",
        include_bytes!(concat!(
            env!("MENTORTRACK_COMPONENTS_DIR"),
            "/jhpiego_qi.wasm"
        )),
    ),
    (
        "care_lead.wasm",
        include_bytes!(concat!(
            env!("MENTORTRACK_COMPONENTS_DIR"),
            "/care_lead.wasm"
        )),
    ),
];
pub use runtime::{CallStats, Limits, LoadError, Loaded, PluginError, Runtime};
