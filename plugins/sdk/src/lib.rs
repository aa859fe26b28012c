//! Write mentortrack checklist-and-scoring plugins in Rust.
//!
//! A plugin is a WebAssembly component built for `wasm32-wasip2` against the
//! `mentortrack:plugin@1.0.0` contract in `wit/`. This crate gives you:
//!
//! - the contract's types as plain Rust ([`Answer`], [`ScoreCard`], ...),
//!   generated from the WIT so they cannot drift from it, and checklist
//!   definitions ([`Checklist`], [`Item`], [`Localized`], ...) in the SDK's own
//!   model, field for field the contract's but holding string literals without
//!   copying them (see [`Text`]);
//! - builders for checklists and score cards ([`Checklist::new`],
//!   [`ScoreCard::new`]);
//! - the published scoring rules as small functions ([`rules`]);
//! - validation of responses against the checklist before your code runs;
//! - [`register_plugin!`], which exports a [`Plugin`] as the component.
//!
//! Everything except the export glue is ordinary Rust, so a plugin's rules are
//! tested with plain `cargo test` on the build machine, through [`Runner`],
//! exactly as the host will call them.
//!
//! ```
//! use mentortrack_plugin_sdk::prelude::*;
//!
//! struct Demo;
//!
//! impl Plugin for Demo {
//!     fn new() -> Self {
//!         Demo
//!     }
//!
//!     fn manifest(&self) -> Manifest {
//!         Manifest::new("demo", "Demo", "1.0.0", "DEMO")
//!     }
//!
//!     fn checklists(&self) -> Vec<Checklist> {
//!         vec![Checklist::new("hands", "Hand hygiene").section("s", "Steps", |s| {
//!             s.key_item("wash", "Washes hands").item("dry", "Dries hands")
//!         })]
//!     }
//!
//!     fn score(
//!         &self,
//!         checklist: &Checklist,
//!         answers: &Answers<'_>,
//!         _context: &ScoreContext,
//!     ) -> Result<ScoreCard, ScoreError> {
//!         let all = answers.tally(select::all, Coding::Binary);
//!         let key = answers.tally(select::key, Coding::Binary);
//!         let pass = all.at_least(1) && key.all_achieved();
//!         Ok(ScoreCard::new(Outcome::pass_fail(pass))
//!             .percentage(all.percentage())
//!             .metric(metric_name(&["demo", &checklist.id, "pass"]), pass))
//!     }
//! }
//!
//! // In the plugin crate: mentortrack_plugin_sdk::register_plugin!(Demo);
//!
//! let runner = Runner::new(Demo::new());
//! let responses = ResponseSet::new().yes("wash").no("dry").build();
//! let card = runner.score("hands", &responses, &ScoreContext::default()).unwrap();
//! assert_eq!(card.outcome.code, "pass");
//! ```

mod answers;
mod build;
mod card;
pub mod lint;
mod model;
pub mod rules;
mod runner;
pub mod testing;
mod text;

/// Code generated from the WIT contract. Use the re-exports at the crate root;
/// this module is public only so that [`register_plugin!`] can reach it.
#[doc(hidden)]
#[allow(unsafe_code, missing_debug_implementations)]
pub mod bindings {
    wit_bindgen::generate!({
        path: "../../wit",
        world: "partner-plugin",
        // The export macro is expanded in each plugin crate, so it must be
        // public and name this crate's bindings by absolute path.
        pub_export_macro: true,
        default_bindings_module: "mentortrack_plugin_sdk::bindings",
        additional_derives: [PartialEq],
    });
}

pub use answers::{Answers, validate};
pub use bindings::mentortrack::plugin::types::{
    Answer, ChecklistKind, Importance, IntegerRange, ItemError, ItemFeedback, Manifest, Metric,
    NumberRange, Outcome, Response, ScoreCard, ScoreContext, ScoreError, SectionScore, Signal,
};
pub use build::{Group, ItemSink};
pub use card::{MetricValue, feedback, metric_name};
pub use model::{
    Checklist, ChoiceOption, Item, ItemGroup, Localized, ResponseKind, Section, Text, Translation,
};
pub use rules::{
    Coding, CodingRule, Competency, Credit, Standard, StandardStatus, Standards, Tally,
};
pub use runner::Runner;
pub use testing::ResponseSet;

/// Compiles and runs the Rust examples of the plugin author's guide, so that
/// the guide cannot drift from the SDK.
#[doc = include_str!("../../README.md")]
#[cfg(doctest)]
pub struct AuthorsGuide;

/// The contract version this SDK builds plugins for.
pub const CONTRACT_VERSION: &str = "1.0.0";

/// A partner organisation's plugin: its identity, its checklists and how it
/// scores them.
///
/// The SDK calls [`Plugin::score`] only with a checklist from
/// [`Plugin::checklist`] and responses that passed validation against it, so
/// `score` can concentrate on the rule. Return errors, never panic: in the
/// component a panic is a trap, and the host can only report that the plugin
/// crashed.
///
/// The host runs every call in a fresh instance of the component, so whatever
/// a call needs is built again on every call. `score` needs only the plugin id
/// and the one checklist scored: override [`Plugin::id`] and
/// [`Plugin::checklist`] when building the manifest or every checklist costs
/// more than that (see the author's guide, "Scoring fast").
pub trait Plugin: Send + Sync + 'static {
    /// Builds the plugin. Called once per component instance.
    fn new() -> Self
    where
        Self: Sized;

    /// Who the plugin is. See [`Manifest::new`].
    fn manifest(&self) -> Manifest;

    /// Every checklist, in display order: what the host shows and stores.
    fn checklists(&self) -> Vec<Checklist>;

    /// The checklist with this id, or `None`: what `score` is called with.
    ///
    /// By default the one of [`Plugin::checklists`] with this id, which builds
    /// every checklist to keep one. A plugin with several checklists can build
    /// only the one asked for, with a `match` on the id. It must return exactly
    /// the checklist `checklists` has under that id, and `None` for any other
    /// id: [`testing::assert_definitions_valid`] checks both.
    fn checklist(&self, id: &str) -> Option<Checklist> {
        self.checklists().into_iter().find(|c| c.id == id)
    }

    /// The manifest's id, the prefix of every metric name.
    ///
    /// By default taken from [`Plugin::manifest`]. Return the same id from a
    /// constant to spare `score` building the manifest;
    /// [`testing::assert_definitions_valid`] checks the two agree.
    fn id(&self) -> String {
        self.manifest().id
    }

    /// Scores validated answers to `checklist`.
    fn score(
        &self,
        checklist: &Checklist,
        answers: &Answers<'_>,
        context: &ScoreContext,
    ) -> Result<ScoreCard, ScoreError>;

    /// Checks that span several items ("if X is no, Y must be not
    /// applicable"), run after the generic per-item validation succeeded.
    /// Return one [`ItemError`] per problem; none by default.
    fn validate(&self, checklist: &Checklist, answers: &Answers<'_>) -> Vec<ItemError> {
        let _ = (checklist, answers);
        Vec::new()
    }
}

/// Logging through the host's bounded `log` import.
///
/// Never log responses or anything else that could identify a patient or a
/// provider. Outside the component (native tests) messages go to stderr.
pub mod log {
    pub use crate::bindings::mentortrack::plugin::log::Level;

    pub fn log(level: Level, message: &str) {
        #[cfg(target_arch = "wasm32")]
        crate::bindings::mentortrack::plugin::log::log(level, message);
        // The import exists only inside a component; natively it would panic.
        #[cfg(not(target_arch = "wasm32"))]
        eprintln!("[{level:?}] {message}");
    }

    pub fn debug(message: &str) {
        log(Level::Debug, message);
    }

    pub fn info(message: &str) {
        log(Level::Info, message);
    }

    pub fn warn(message: &str) {
        log(Level::Warn, message);
    }

    pub fn error(message: &str) {
        log(Level::Error, message);
    }
}

/// Everything a plugin usually needs: `use mentortrack_plugin_sdk::prelude::*;`
pub mod prelude {
    pub use crate::rules::{self, select};
    pub use crate::{
        Answer, Answers, Checklist, ChecklistKind, ChoiceOption, Coding, CodingRule, Competency,
        Credit, Group, Importance, Item, ItemError, ItemFeedback, ItemGroup, ItemSink, Localized,
        Manifest, Metric, Outcome, Plugin, Response, ResponseKind, ResponseSet, Runner, ScoreCard,
        ScoreContext, ScoreError, Section, SectionScore, Signal, StandardStatus, Standards, Tally,
        Text, feedback, metric_name,
    };
}

/// Exports a [`Plugin`] as the component's implementation of the contract.
///
/// Put it once at the root of the plugin crate:
///
/// ```ignore
/// mentortrack_plugin_sdk::register_plugin!(MyPlugin);
/// ```
#[macro_export]
macro_rules! register_plugin {
    ($plugin:ty) => {
        const _: () = {
            // Built on the first call and kept for the life of the instance.
            // Building it builds nothing else: each export builds only what
            // it returns or needs (see `Runner`), because the host gives every
            // call a fresh instance.
            static RUNNER: ::std::sync::OnceLock<$crate::Runner<$plugin>> =
                ::std::sync::OnceLock::new();

            fn runner() -> &'static $crate::Runner<$plugin> {
                RUNNER.get_or_init(|| $crate::Runner::new(<$plugin as $crate::Plugin>::new()))
            }

            // Natively nothing is exported (the export names are not valid
            // native symbols); the impl is still compiled, so it is checked.
            #[allow(dead_code)]
            struct MentortrackPluginExport;

            impl $crate::bindings::exports::mentortrack::plugin::plugin::Guest
                for MentortrackPluginExport
            {
                // Built for the answer and moved into it, not kept: the
                // host asks once per instance.
                fn describe() -> $crate::Manifest {
                    $crate::Plugin::manifest(runner().plugin())
                }

                // The SDK's model becomes the contract's types here, where
                // the definitions leave the component, and nowhere else.
                fn checklists()
                -> ::std::vec::Vec<$crate::bindings::mentortrack::plugin::types::Checklist>
                {
                    $crate::Plugin::checklists(runner().plugin())
                        .into_iter()
                        .map(::std::convert::Into::into)
                        .collect()
                }

                fn score(
                    checklist_id: ::std::string::String,
                    responses: ::std::vec::Vec<$crate::Response>,
                    context: $crate::ScoreContext,
                ) -> ::std::result::Result<$crate::ScoreCard, $crate::ScoreError> {
                    runner().score(&checklist_id, &responses, &context)
                }
            }

            #[cfg(target_arch = "wasm32")]
    $crate::bindings::export!(MentortrackPluginExport with_types_in $crate::bindings);
        };
    };
}

#[cfg(test)]
mod tests {
    #[test]
    fn contract_version_matches_the_wit() {
        let wit = include_str!("../../../wit/plugin.wit");
        let package = format!("package mentortrack:plugin@{};", super::CONTRACT_VERSION);
        assert!(
            wit.lines().any(|l| l.trim() == package),
            "{package} not in plugin.wit"
        );
    }
}
