//! The one `bindgen!` of the plugin contract. Host-side code converts these types to and from
//! `model` at the boundary and never stores or serves them directly.

wasmtime::component::bindgen!({
    path: "../wit",
    world: "partner-plugin",
});
