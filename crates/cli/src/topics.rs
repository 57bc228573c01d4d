//! `weir topics`: kafka-topics on the admin client.

use anyhow::{bail, Context};
use weir_client::admin::{ConfigResource, ConfigSource, NewTopic};
use weir_client::{Admin, ClientConfig};

#[derive(clap::Args)]
#[command(group(clap::ArgGroup::new("action").required(true).args(["create", "list", "describe", "alter", "delete"])))]
pub struct Args {
    /// host:port[,host:port...] of brokers to bootstrap from.
    #[arg(long)]
    bootstrap_server: String,
    #[arg(long)]
    create: bool,
    #[arg(long)]
    list: bool,
    #[arg(long)]
    describe: bool,
    /// Change the partition count (with --partitions).
    #[arg(long)]
    alter: bool,
    #[arg(long)]
    delete: bool,
    #[arg(long)]
    topic: Option<String>,
    #[arg(long)]
    partitions: Option<i32>,
    #[arg(long)]
    replication_factor: Option<i16>,
    /// A topic config for --create, `key=value`; repeatable.
    #[arg(long = "config", value_name = "KEY=VALUE")]
    configs: Vec<String>,
    /// With --create: no error if the topic exists.
    #[arg(long)]
    if_not_exists: bool,
    /// With --list/--describe: leave out internal topics.
    #[arg(long)]
    exclude_internal: bool,
}

/// Kafka prints topic ids as URL-safe base64 without padding (`Uuid.toString()`).
pub fn topic_id_string(id: &[u8; 16]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::with_capacity(22);
    for chunk in id.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..=chunk.len() {
            out.push(char::from(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize]));
        }
    }
    out
}

fn join(ids: &[i32]) -> String {
    ids.iter().map(i32::to_string).collect::<Vec<_>>().join(",")
}

pub async fn run(args: Args) -> anyhow::Result<()> {
    let admin = Admin::connect(ClientConfig::new(&args.bootstrap_server))
        .await
        .context("cannot connect")?;
    let topic = || args.topic.clone().context("--topic is required");
    if args.create {
        let name = topic()?;
        let mut t = NewTopic::new(
            &name,
            args.partitions.unwrap_or(-1),
            args.replication_factor.unwrap_or(-1),
        );
        for c in &args.configs {
            let (k, v) = crate::key_value(c)?;
            t = t.config(k, v);
        }
        match admin.create_topics(&[t]).await {
            Ok(()) => println!("Created topic {name}."),
            Err(e)
                if args.if_not_exists
                    && e.kafka_error() == Some(weir_client::ResponseError::TopicAlreadyExists) => {}
            Err(e) => return Err(e.into()),
        }
    } else if args.list {
        for name in admin.list_topics(!args.exclude_internal).await? {
            println!("{name}");
        }
    } else if args.describe {
        let wanted = args.topic.clone().map(|t| vec![t]);
        let topics = admin.describe_topics(wanted.as_deref()).await?;
        for t in topics {
            if args.exclude_internal && t.is_internal {
                continue;
            }
            let configs = admin
                .describe_configs(&ConfigResource::Topic(t.name.clone()))
                .await
                .map(|entries| {
                    entries
                        .into_iter()
                        .filter(|e| e.source == ConfigSource::DynamicTopicConfig)
                        .map(|e| format!("{}={}", e.name, e.value.unwrap_or_default()))
                        .collect::<Vec<_>>()
                        .join(",")
                })
                .unwrap_or_default();
            let rf = t.partitions.first().map_or(0, |p| p.replicas.len());
            println!(
                "Topic: {}\tTopicId: {}\tPartitionCount: {}\tReplicationFactor: {}\tConfigs: {}",
                t.name,
                topic_id_string(t.topic_id.as_bytes()),
                t.partitions.len(),
                rf,
                configs
            );
            for p in &t.partitions {
                let leader = if p.leader < 0 {
                    "none".to_string()
                } else {
                    p.leader.to_string()
                };
                println!(
                    "\tTopic: {}\tPartition: {}\tLeader: {}\tReplicas: {}\tIsr: {}",
                    t.name,
                    p.partition,
                    leader,
                    join(&p.replicas),
                    join(&p.isr)
                );
            }
        }
    } else if args.alter {
        let name = topic()?;
        let Some(n) = args.partitions else {
            bail!("--alter needs --partitions");
        };
        admin.create_partitions(&name, n).await?;
    } else if args.delete {
        admin.delete_topics(&[topic()?]).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn topic_ids_print_like_kafka() {
        // Kafka: new Uuid(0x0123456789abcdefL, 0xfedcba9876543210L).toString()
        let id = [
            0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef, 0xfe, 0xdc, 0xba, 0x98, 0x76, 0x54,
            0x32, 0x10,
        ];
        assert_eq!(super::topic_id_string(&id), "ASNFZ4mrze_-3LqYdlQyEA");
    }
}
