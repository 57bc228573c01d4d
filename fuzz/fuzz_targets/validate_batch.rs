//! Any byte string given to the batch iterator and validator returns an error or a valid
//! header view, never a panic; a batch that validates has a consistent record count.
#![no_main]

use libfuzzer_sys::fuzz_target;
use weir_protocol::batch::BatchIter;

fuzz_target!(|data: &[u8]| {
    for batch in BatchIter::new(data) {
        let Ok(batch) = batch else { break };
        if batch.validate().is_ok() {
            assert_eq!(
                i64::from(batch.record_count()),
                i64::from(batch.last_offset_delta()) + 1
            );
            assert!(batch.total_len() <= data.len());
        }
    }
});
