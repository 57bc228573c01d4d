//! `<log.dir>/meta.properties`: the cluster id and node id a log directory belongs to, in
//! Kafka's format (`version=1`, `cluster.id=...`, `node.id=...`).

use std::path::Path;

use crate::BrokerError;

/// Reads the directory's cluster id, or creates the file with a new one. Fails if the
/// directory belongs to another node.
pub fn load_or_create(log_dir: &Path, node_id: i32) -> Result<String, BrokerError> {
    let path = log_dir.join("meta.properties");
    let io = |source| BrokerError::Io {
        path: path.clone(),
        source,
    };
    match std::fs::read_to_string(&path) {
        Ok(text) => {
            let get = |key: &str| {
                text.lines()
                    .filter_map(|l| l.split_once('='))
                    .find(|(k, _)| k.trim() == key)
                    .map(|(_, v)| v.trim().to_string())
            };
            let stored_node = get("node.id").and_then(|n| n.parse::<i32>().ok());
            if stored_node.is_some_and(|n| n != node_id) {
                return Err(BrokerError::Config(format!(
                    "{} belongs to node.id {:?}, not {node_id}",
                    path.display(),
                    stored_node
                )));
            }
            get("cluster.id")
                .ok_or_else(|| BrokerError::Config(format!("{} has no cluster.id", path.display())))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let cluster_id = kafka_uuid_string(uuid::Uuid::new_v4());
            let text = format!("version=1\ncluster.id={cluster_id}\nnode.id={node_id}\n");
            let tmp = log_dir.join("meta.properties.tmp");
            std::fs::write(&tmp, text).map_err(io)?;
            std::fs::rename(&tmp, &path).map_err(io)?;
            Ok(cluster_id)
        }
        Err(e) => Err(io(e)),
    }
}

/// Kafka prints UUIDs (cluster ids, topic ids) as URL-safe base64 without padding.
pub fn kafka_uuid_string(id: uuid::Uuid) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let bytes = id.as_bytes();
    let mut out = String::with_capacity(22);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk.first().copied().unwrap_or(0),
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        let chars = chunk.len() + 1;
        for i in 0..chars {
            let idx = ((n >> (18 - 6 * i)) & 0x3f) as usize;
            out.push(char::from(ALPHABET[idx]));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kafka_uuid_string_matches_base64url() {
        // Uuid of all 0xff bytes is "_____________________w" in Kafka's rendering.
        let id = uuid::Uuid::from_bytes([0xff; 16]);
        assert_eq!(kafka_uuid_string(id), "_____________________w");
        assert_eq!(
            kafka_uuid_string(uuid::Uuid::nil()),
            "AAAAAAAAAAAAAAAAAAAAAA"
        );
    }

    #[test]
    fn cluster_id_persists_and_node_mismatch_fails() {
        let dir = tempfile::tempdir().unwrap();
        let a = load_or_create(dir.path(), 1).unwrap();
        assert_eq!(load_or_create(dir.path(), 1).unwrap(), a);
        assert!(load_or_create(dir.path(), 2).is_err());
    }
}
