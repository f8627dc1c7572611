//! Every catalogue scenario has a snapshot (and so a test in its family's file), ids are
//! unique, and every description is one line.

use std::collections::BTreeSet;
use std::path::Path;

use twine_scenarios::catalogue;

#[test]
fn every_scenario_has_a_snapshot_and_a_unique_id() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../snapshots");
    let mut ids = BTreeSet::new();
    for entry in catalogue::all() {
        assert!(ids.insert(entry.id()), "duplicate scenario {}", entry.id());
        assert!(
            !entry.about.contains('\n'),
            "{}: the description is one line",
            entry.id()
        );
        let snapshot = root.join(entry.family).join(format!("{}.snap", entry.name));
        assert!(
            snapshot.exists(),
            "{} has no snapshot at {}",
            entry.id(),
            snapshot.display()
        );
    }
}
