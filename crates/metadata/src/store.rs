//! `MetadataStore`: the metadata log plus the image it builds.

use std::path::Path;

use crate::error::{MetadataError, Result};
use crate::image::MetadataImage;
use crate::log::MetadataLog;
use crate::record::MetadataRecord;

/// The metadata log and the image replayed from it.
///
/// [`MetadataStore::commit`] is the one way to change metadata: the records are first applied to
/// a copy of the image (so a change that does not apply is rejected before it is written), then
/// appended durably, then the copy becomes the image. Callers build the records with the
/// decision helpers in [`crate::topics`].
#[derive(Debug)]
pub struct MetadataStore {
    log: MetadataLog,
    image: MetadataImage,
}

impl MetadataStore {
    /// Opens the metadata log under `log_dir` (a broker's first `log.dirs` entry), recovers it,
    /// and replays it into an image.
    pub fn open(log_dir: &Path) -> Result<MetadataStore> {
        let (log, entries) = MetadataLog::open(log_dir)?;
        let mut image = MetadataImage::new();
        for entry in &entries {
            for record in &entry.records {
                image.apply(record).map_err(|e| MetadataError::Replay {
                    offset: entry.offset,
                    source: Box::new(e),
                })?;
            }
        }
        tracing::debug!(
            entries = entries.len(),
            topics = image.topics().len(),
            "metadata log replayed"
        );
        Ok(MetadataStore { log, image })
    }

    /// The current image.
    pub fn image(&self) -> &MetadataImage {
        &self.image
    }

    /// Offset of the last committed change, -1 when none.
    pub fn last_offset(&self) -> i64 {
        self.log.next_offset() - 1
    }

    /// Commits one change atomically: checks that it applies, appends it to the log (fsynced),
    /// then applies it. Returns the change's log offset. An empty change does nothing.
    ///
    /// On error the image is unchanged; an I/O error is fatal for the metadata subsystem.
    pub fn commit(&mut self, records: Vec<MetadataRecord>) -> Result<i64> {
        if records.is_empty() {
            return Ok(self.last_offset());
        }
        let mut next = self.image.clone();
        for record in &records {
            next.apply(record)?;
        }
        let offset = self.log.append(&records)?;
        self.image = next;
        Ok(offset)
    }
}
