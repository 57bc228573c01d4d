//! `OffsetCheckpoint` as the broker uses it.

use std::collections::HashMap;
use std::fs;

use weir_storage::OffsetCheckpoint;

#[test]
fn write_replaces_atomically_and_ignores_a_stale_temp_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("replication-offset-checkpoint");
    let cp = OffsetCheckpoint::new(&path);
    // A crash during an earlier write left a half-written temp file.
    fs::write(
        dir.path().join("replication-offset-checkpoint.tmp"),
        "0\n9\nhalf",
    )
    .unwrap();
    let mut entries = HashMap::new();
    entries.insert(("a".to_string(), 0), 10);
    cp.write(&entries).unwrap();
    assert_eq!(cp.read().unwrap(), entries);
    entries.insert(("b".to_string(), 3), i64::MAX);
    entries.insert(("a".to_string(), 0), 11);
    cp.write(&entries).unwrap();
    assert_eq!(cp.read().unwrap(), entries);
    assert_eq!(
        fs::read_to_string(&path).unwrap(),
        format!("0\n2\na 0 11\nb 3 {}\n", i64::MAX)
    );
    let names: Vec<_> = fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(
        names,
        vec![std::ffi::OsString::from("replication-offset-checkpoint")]
    );
    // Empty map round trip.
    cp.write(&HashMap::new()).unwrap();
    assert!(cp.read().unwrap().is_empty());
    assert_eq!(fs::read_to_string(&path).unwrap(), "0\n0\n");
}
