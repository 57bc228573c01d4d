//! MetadataStore: commit, reopen, and recovery from a torn or corrupted log tail.

use std::fs::OpenOptions;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use uuid::Uuid;
use weir_metadata::log::{ENTRY_HEADER_BYTES, METADATA_DIR, METADATA_LOG_FILE};
use weir_metadata::{ConfigResource, MetadataError, MetadataRecord, MetadataStore};

type TestResult = Result<(), Box<dyn std::error::Error>>;

fn log_path(dir: &Path) -> PathBuf {
    dir.join(METADATA_DIR).join(METADATA_LOG_FILE)
}

fn create_topic(name: &str, id: u128, partitions: i32) -> Vec<MetadataRecord> {
    let topic_id = Uuid::from_u128(id);
    let mut records = vec![MetadataRecord::Topic {
        name: name.into(),
        topic_id,
    }];
    records.extend((0..partitions).map(|p| MetadataRecord::Partition {
        topic_id,
        partition: p,
        replicas: vec![1],
        isr: vec![1],
        leader: 1,
        leader_epoch: 0,
        partition_epoch: 0,
    }));
    records
}

fn file_len(path: &Path) -> std::io::Result<u64> {
    Ok(std::fs::metadata(path)?.len())
}

#[test]
fn commit_reopen_gives_equal_image() -> TestResult {
    let dir = tempfile::tempdir()?;
    let mut store = MetadataStore::open(dir.path())?;
    assert_eq!(store.last_offset(), -1);
    assert_eq!(
        store.commit(vec![MetadataRecord::RegisterBroker {
            broker_id: 1,
            host: "127.0.0.1".into(),
            port: 9092,
            rack: None,
        }])?,
        0
    );
    assert_eq!(store.commit(create_topic("orders", 1, 3))?, 1);
    store.commit(vec![MetadataRecord::Config {
        resource: ConfigResource::Topic("orders".into()),
        name: "retention.ms".into(),
        value: Some("1000".into()),
    }])?;
    store.commit(create_topic("gone", 2, 1))?;
    store.commit(vec![MetadataRecord::RemoveTopic {
        topic_id: Uuid::from_u128(2),
    }])?;
    let image = store.image().clone();
    assert_eq!(image.topics().len(), 1);
    assert_eq!(image.topic("orders").map(|t| t.partitions.len()), Some(3));
    drop(store);

    let store = MetadataStore::open(dir.path())?;
    assert_eq!(store.image(), &image);
    assert_eq!(store.last_offset(), 4);
    Ok(())
}

#[test]
fn rejected_change_is_not_written() -> TestResult {
    let dir = tempfile::tempdir()?;
    let mut store = MetadataStore::open(dir.path())?;
    store.commit(create_topic("a", 1, 1))?;
    let len = file_len(&log_path(dir.path()))?;
    // The second record of this change does not apply: nothing of it is kept.
    let err = store.commit(vec![
        MetadataRecord::Topic {
            name: "b".into(),
            topic_id: Uuid::from_u128(2),
        },
        MetadataRecord::RemoveTopic {
            topic_id: Uuid::from_u128(99),
        },
    ]);
    assert!(matches!(err, Err(MetadataError::UnknownTopicId { .. })));
    assert!(store.image().topic("b").is_none());
    assert_eq!(file_len(&log_path(dir.path()))?, len);
    assert_eq!(store.commit(vec![])?, 0);
    Ok(())
}

#[test]
fn torn_tail_recovers_earlier_changes() -> TestResult {
    let dir = tempfile::tempdir()?;
    let mut store = MetadataStore::open(dir.path())?;
    store.commit(create_topic("a", 1, 2))?;
    store.commit(create_topic("b", 2, 2))?;
    let before_last = file_len(&log_path(dir.path()))?;
    store.commit(create_topic("c", 3, 2))?;
    let full = file_len(&log_path(dir.path()))?;
    drop(store);

    // Cut the last entry at several points: inside the header and inside the payload.
    for cut in [
        before_last + 3,
        before_last + ENTRY_HEADER_BYTES as u64,
        (before_last + full) / 2,
        full - 1,
    ] {
        let copy = tempfile::tempdir()?;
        std::fs::create_dir_all(copy.path().join(METADATA_DIR))?;
        std::fs::copy(log_path(dir.path()), log_path(copy.path()))?;
        OpenOptions::new()
            .write(true)
            .open(log_path(copy.path()))?
            .set_len(cut)?;

        let mut store = MetadataStore::open(copy.path())?;
        let names: Vec<&String> = store.image().topics().keys().collect();
        assert_eq!(names, ["a", "b"], "cut at {cut}");
        assert_eq!(store.last_offset(), 1);
        // The torn bytes are gone and the log takes new entries after the good ones.
        assert_eq!(file_len(&log_path(copy.path()))?, before_last);
        assert_eq!(store.commit(create_topic("d", 4, 1))?, 2);
        drop(store);
        let store = MetadataStore::open(copy.path())?;
        assert_eq!(store.image().topics().len(), 3);
    }
    Ok(())
}

#[test]
fn corrupted_byte_in_last_entry_drops_only_that_entry() -> TestResult {
    let dir = tempfile::tempdir()?;
    let mut store = MetadataStore::open(dir.path())?;
    store.commit(create_topic("a", 1, 1))?;
    let before_last = file_len(&log_path(dir.path()))?;
    store.commit(create_topic("b", 2, 1))?;
    drop(store);

    // Flip one payload byte of the last entry.
    let path = log_path(dir.path());
    let mut file = OpenOptions::new().read(true).write(true).open(&path)?;
    let at = before_last + ENTRY_HEADER_BYTES as u64 + 5;
    let mut byte = [0u8; 1];
    file.seek(SeekFrom::Start(at))?;
    file.read_exact(&mut byte)?;
    file.seek(SeekFrom::Start(at))?;
    file.write_all(&[byte[0] ^ 0x40])?;
    drop(file);

    let store = MetadataStore::open(dir.path())?;
    assert!(store.image().topic("a").is_some());
    assert!(store.image().topic("b").is_none());
    assert_eq!(store.last_offset(), 0);
    assert_eq!(file_len(&path)?, before_last);
    Ok(())
}

#[test]
fn garbage_file_opens_empty() -> TestResult {
    let dir = tempfile::tempdir()?;
    std::fs::create_dir_all(dir.path().join(METADATA_DIR))?;
    std::fs::write(
        log_path(dir.path()),
        b"\x00\x00\x00\x00\x00\x00\x00\x07garbage garbage",
    )?;
    let store = MetadataStore::open(dir.path())?;
    assert!(store.image().topics().is_empty());
    assert_eq!(file_len(&log_path(dir.path()))?, 0);
    Ok(())
}
