//! Shared by the family test files: run a catalogue scenario at its own seed and assert its
//! trace against `snapshots/<family>/<name>.snap`, then its verdict.

use twine_scenarios::catalogue;
use twine_scenarios::execute::{execute, Faults};
use twine_sim::Seed;

/// Runs `family/name` exactly, snapshots its trace, and requires it to pass.
pub(crate) fn assert_scenario(id: &str) {
    let entry = catalogue::find(id).unwrap_or_else(|| panic!("no scenario {id}"));
    let outcome = execute(&entry, Seed(entry.seed), &Faults::Exact);
    let text = outcome.trace.to_text();
    insta::with_settings!({
        snapshot_path => format!("../../../snapshots/{}", entry.family),
        prepend_module_to_snapshot => false,
        omit_expression => true,
        description => format!("{}: {}", entry.id(), entry.about),
    }, {
        insta::assert_snapshot!(entry.name, text);
    });
    assert!(outcome.passed(), "{id} failed:\n{}", outcome.report());
}

/// Declares one test per scenario name, in the family's test file.
#[macro_export]
macro_rules! scenarios {
    ($family:literal: $($name:ident),+ $(,)?) => {
        $(
            #[test]
            fn $name() {
                $crate::catalogue::assert_scenario(concat!($family, "/", stringify!($name)));
            }
        )+
    };
}
