//! Open and aborted transactions through `Log`: rebuilt on reopen from the producer
//! snapshot, the `.txnindex` files and the batches after the snapshot, exactly as a scan of
//! the whole log would rebuild them.
#![allow(clippy::unwrap_used)]

use weir_storage::{test_util, AbortedTxn, Log, LogConfig, ProducerSnapshot};

fn small_segments() -> LogConfig {
    LogConfig {
        segment_bytes: 600,
        ..LogConfig::default()
    }
}

fn data(log: &mut Log, pid: i64, seq: i32, transactional: bool) -> i64 {
    let b = test_util::from_producer(test_util::batch(2, 60, 1_000), pid, 0, seq, transactional);
    log.append(&b, 2_000).unwrap().first_offset
}

fn marker(log: &mut Log, pid: i64, commit: bool) -> i64 {
    let b = test_util::control_batch(pid, 0, commit, 1_000);
    log.append(&b, 2_000).unwrap().first_offset
}

/// What a read_committed reader depends on: the LSO, the aborted list, the `.txnindex` files.
fn txn_view(log: &Log, dir: &std::path::Path) -> (Option<i64>, Vec<AbortedTxn>, Vec<Vec<u8>>) {
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "txnindex"))
        .collect();
    files.sort();
    (
        log.first_unstable_offset(),
        log.aborted_transactions(0, log.log_end_offset()),
        files.iter().map(|f| std::fs::read(f).unwrap()).collect(),
    )
}

#[test]
fn transactions_are_rebuilt_from_the_snapshot_and_the_log_after_it() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = Log::open(dir.path(), small_segments(), 0).unwrap();
    // Before the snapshot: producer 1 opens a transaction and keeps it open; producer 2's
    // is aborted; producer 3 writes plain idempotent batches that roll segments.
    let open_first = data(&mut log, 1, 0, true);
    data(&mut log, 2, 0, true);
    data(&mut log, 2, 2, true);
    marker(&mut log, 2, false);
    for i in 0..8 {
        data(&mut log, 3, i * 2, false);
    }
    log.flush().unwrap();
    log.take_producer_snapshot().unwrap();
    let snapshot = ProducerSnapshot::list(dir.path()).unwrap().pop().unwrap();
    assert_eq!(snapshot.offset, log.log_end_offset());
    // After it: producer 4 aborts, producer 1 goes on, producer 5 opens one.
    data(&mut log, 4, 0, true);
    data(&mut log, 1, 2, true);
    marker(&mut log, 4, false);
    data(&mut log, 5, 0, true);
    for i in 8..12 {
        data(&mut log, 3, i * 2, false);
    }
    assert!(log.segment_count() > 3);
    let before = txn_view(&log, dir.path());
    assert_eq!(before.0, Some(open_first));
    assert_eq!(before.1.len(), 2);
    let leo = log.log_end_offset();
    drop(log); // no snapshot at the end: as after SIGKILL

    let log = Log::open(dir.path(), small_segments(), leo).unwrap();
    assert_eq!(txn_view(&log, dir.path()), before, "from the snapshot");
    drop(log);

    // The same without any snapshot: the whole log is scanned.
    for s in ProducerSnapshot::list(dir.path()).unwrap() {
        s.delete().unwrap();
    }
    let log = Log::open(dir.path(), small_segments(), leo).unwrap();
    assert_eq!(txn_view(&log, dir.path()), before, "from a full scan");
    drop(log);
}

#[test]
fn segments_below_the_snapshot_are_not_read_again() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = Log::open(dir.path(), small_segments(), 0).unwrap();
    data(&mut log, 2, 0, true);
    let abort = marker(&mut log, 2, false);
    for i in 0..8 {
        data(&mut log, 3, i * 2, false);
    }
    log.flush().unwrap();
    log.take_producer_snapshot().unwrap();
    let leo = log.log_end_offset();
    assert_eq!(log.aborted_transactions(0, leo).len(), 1);
    drop(log);
    // Empty the first segment's .txnindex: only a reader that trusts the index files below
    // the snapshot (and does not rescan those segments) misses the aborted transaction.
    let index = dir.path().join("00000000000000000000.txnindex");
    assert!(std::fs::metadata(&index).unwrap().len() > 0);
    std::fs::write(&index, b"").unwrap();
    let log = Log::open(dir.path(), small_segments(), leo).unwrap();
    assert!(log.aborted_transactions(0, leo).is_empty());
    assert!(abort < leo);
}
