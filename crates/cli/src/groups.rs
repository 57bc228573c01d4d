//! `weir groups`: kafka-consumer-groups `--list` and `--describe` (current offset, log end
//! offset, lag, member, host per partition).

use std::collections::{BTreeMap, HashMap};

use anyhow::{bail, Context};
use weir_client::admin::OffsetSpec;
use weir_client::consumer::group_admin::{describe_group, list_groups};
use weir_client::{Admin, ClientConfig, TopicPartition};

#[derive(clap::Args)]
pub struct Args {
    #[arg(long)]
    bootstrap_server: String,
    /// List every group.
    #[arg(long)]
    list: bool,
    /// Describe the groups given with --group.
    #[arg(long)]
    describe: bool,
    /// The group to describe; repeatable.
    #[arg(long)]
    group: Vec<String>,
    /// With --describe: every group.
    #[arg(long)]
    all_groups: bool,
}

pub async fn run(args: Args) -> anyhow::Result<()> {
    if args.list == args.describe {
        bail!("exactly one of --list or --describe is needed");
    }
    let admin = Admin::connect(ClientConfig::new(&args.bootstrap_server))
        .await
        .context("cannot connect")?;
    let cluster = admin.cluster().clone();
    if args.list {
        for g in list_groups(&cluster).await? {
            println!("{}", g.group_id);
        }
        return Ok(());
    }
    let groups = if args.all_groups {
        list_groups(&cluster)
            .await?
            .into_iter()
            .map(|g| g.group_id)
            .collect()
    } else {
        args.group.clone()
    };
    if groups.is_empty() {
        bail!("--describe needs --group or --all-groups");
    }
    for group in groups {
        let d = describe_group(&cluster, &group).await?;
        if d.state == "Dead" && d.committed.is_empty() {
            bail!("consumer group '{group}' does not exist");
        }
        // partition -> (member id, host, client id)
        let mut owner: HashMap<TopicPartition, (String, String, String)> = HashMap::new();
        for m in &d.members {
            for tp in &m.assignment {
                owner.insert(
                    tp.clone(),
                    (
                        m.member_id.clone(),
                        // The broker may not record the client's address.
                        if m.host.is_empty() {
                            "-".to_string()
                        } else {
                            m.host.clone()
                        },
                        m.client_id.clone(),
                    ),
                );
            }
        }
        let mut rows: BTreeMap<TopicPartition, Option<i64>> = BTreeMap::new();
        for (tp, o) in &d.committed {
            rows.insert(tp.clone(), Some(*o));
        }
        for tp in owner.keys() {
            rows.entry(tp.clone()).or_insert(None);
        }
        let mut ends: HashMap<TopicPartition, i64> = HashMap::new();
        let topics: Vec<String> = {
            let mut t: Vec<String> = rows.keys().map(|tp| tp.topic.clone()).collect();
            t.dedup();
            t
        };
        for t in topics {
            if let Ok(offsets) = admin.list_offsets(&t, None, OffsetSpec::Latest).await {
                for o in offsets {
                    ends.insert(TopicPartition::new(&t, o.partition), o.offset);
                }
            }
        }
        println!();
        if d.members.is_empty() {
            println!("Consumer group '{group}' has no active members.");
            println!();
        }
        let none = ("-".to_string(), "-".to_string(), "-".to_string());
        let table: Vec<[String; 9]> = rows
            .iter()
            .map(|(tp, current)| {
                let end = ends.get(tp).copied();
                let (member, host, client) = owner.get(tp).unwrap_or(&none).clone();
                let dash = |v: Option<i64>| v.map_or("-".to_string(), |v| v.to_string());
                let lag = match (current, end) {
                    (Some(c), Some(e)) => Some((e - c).max(0)),
                    _ => None,
                };
                [
                    group.clone(),
                    tp.topic.clone(),
                    tp.partition.to_string(),
                    dash(*current),
                    dash(end),
                    dash(lag),
                    member,
                    host,
                    client,
                ]
            })
            .collect();
        let header = [
            "GROUP",
            "TOPIC",
            "PARTITION",
            "CURRENT-OFFSET",
            "LOG-END-OFFSET",
            "LAG",
            "CONSUMER-ID",
            "HOST",
            "CLIENT-ID",
        ];
        // Kafka's widths: 15 at least for group, topic, consumer id and host; fixed for the
        // numbers.
        let mut widths = [15usize, 15, 10, 15, 15, 15, 15, 15, 0];
        for row in &table {
            for i in [0, 1, 6, 7] {
                widths[i] = widths[i].max(row[i].len());
            }
        }
        let line = |cells: Vec<&str>| {
            let mut s = String::new();
            for (i, c) in cells.iter().enumerate() {
                if i + 1 == cells.len() {
                    s.push_str(c);
                } else {
                    s.push_str(&format!("{c:<w$} ", w = widths[i]));
                }
            }
            println!("{}", s.trim_end());
        };
        line(header.to_vec());
        for row in &table {
            line(row.iter().map(String::as_str).collect());
        }
    }
    Ok(())
}
