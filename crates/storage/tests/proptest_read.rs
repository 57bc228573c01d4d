//! Property: whatever the batch sizes, reading any offset returns the batch that contains it.
#![allow(clippy::unwrap_used, clippy::expect_used)] // proptest bodies are closures

use proptest::prelude::*;
use weir_protocol::batch::BatchIter;
use weir_storage::test_util::batch;
use weir_storage::{Log, LogConfig};

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn read_returns_the_batch_containing_the_offset(
        batches in prop::collection::vec((1i32..6, 0usize..600), 1..60),
        probes in prop::collection::vec(any::<prop::sample::Index>(), 1..30),
        reopen in any::<bool>(),
    ) {
        let dir = tempfile::tempdir().unwrap();
        let config = LogConfig {
            segment_bytes: 3000,
            index_interval_bytes: 300,
            ..LogConfig::default()
        };
        let mut log = Log::open(dir.path(), config.clone(), 0).unwrap();
        let mut spans = Vec::new();
        for (i, &(records, payload)) in batches.iter().enumerate() {
            let info = log.append(&batch(records, payload, i as i64), 0).unwrap();
            spans.push((info.first_offset, info.last_offset));
        }
        let leo = log.log_end_offset();
        prop_assert_eq!(leo, spans.last().unwrap().1 + 1);
        if reopen {
            log.close().unwrap();
            log = Log::open(dir.path(), config, 0).unwrap();
            prop_assert_eq!(log.log_end_offset(), leo);
        }
        for probe in probes {
            let offset = probe.index(leo as usize) as i64;
            let data = log.read(offset, 1, true, leo).unwrap();
            let bytes = data.slice.unwrap().read_to_vec().unwrap();
            let got: Vec<(i64, i64)> = BatchIter::new(&bytes)
                .map(|b| b.map(|b| (b.base_offset(), b.last_offset())).unwrap())
                .collect();
            let want = *spans.iter().find(|&&(b, l)| b <= offset && offset <= l).unwrap();
            prop_assert_eq!(got, vec![want]);
            prop_assert_eq!(data.first_offset_in_slice, want.0);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// Against a brute-force scan: the first batch whose max timestamp reaches the target.
    #[test]
    fn offset_for_timestamp_matches_a_linear_scan(
        timestamps in prop::collection::vec(0i64..2000, 1..80),
        targets in prop::collection::vec(-5i64..2100, 1..30),
        interval in 1u32..400,
        reopen in any::<bool>(),
    ) {
        let dir = tempfile::tempdir().unwrap();
        let config = LogConfig {
            segment_bytes: 2500,
            index_interval_bytes: interval,
            ..LogConfig::default()
        };
        let mut log = Log::open(dir.path(), config.clone(), 0).unwrap();
        let mut batches = Vec::new();
        for &ts in &timestamps {
            let info = log.append(&batch(2, 60, ts), 0).unwrap();
            batches.push((info.first_offset, ts));
        }
        if reopen {
            let leo = log.log_end_offset();
            log.close().unwrap();
            log = Log::open(dir.path(), config, leo).unwrap();
        }
        for target in targets {
            let want = batches.iter().find(|&&(_, ts)| ts >= target).copied();
            prop_assert_eq!(log.offset_for_timestamp(target).unwrap(), want, "target {}", target);
        }
        let max = timestamps.iter().copied().max().unwrap();
        let first_max = batches.iter().find(|&&(_, ts)| ts == max).unwrap();
        prop_assert_eq!(log.max_timestamp_and_offset(), Some((max, first_max.0)));
    }
}
