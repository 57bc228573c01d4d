//! `weir groups`: kafka-consumer-groups `--list`, `--describe` (current offset, log end
//! offset, lag, member, host per partition), `--reset-offsets` (a dry run unless `--execute`)
//! and `--delete`.

use std::collections::{BTreeMap, HashMap};

use anyhow::{bail, Context};
use weir_client::admin::OffsetSpec;
use weir_client::consumer::group_admin::{
    commit_group_offsets, delete_group, describe_group, list_groups,
};
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
    /// Delete the groups given with --group (they must have no members).
    #[arg(long)]
    delete: bool,
    /// Reset the committed offsets of --group (a dry run unless --execute).
    #[arg(long)]
    reset_offsets: bool,
    /// With --reset-offsets: `topic` or `topic:0,1`; repeatable.
    #[arg(long)]
    topic: Vec<String>,
    /// With --reset-offsets: every topic the group committed offsets for.
    #[arg(long)]
    all_topics: bool,
    #[arg(long)]
    to_earliest: bool,
    #[arg(long)]
    to_latest: bool,
    #[arg(long)]
    to_current: bool,
    #[arg(long)]
    to_offset: Option<i64>,
    #[arg(long, allow_negative_numbers = true)]
    shift_by: Option<i64>,
    /// The first offset at or after this time: `YYYY-MM-DDTHH:mm:SS.sss`, local time unless an
    /// offset such as `Z` or `+01:00` follows.
    #[arg(long)]
    to_datetime: Option<String>,
    /// The first offset at or after now minus this ISO-8601 duration (`PnDTnHnMnS`).
    #[arg(long)]
    by_duration: Option<String>,
    /// Show the new offsets without committing them (the default).
    #[arg(long)]
    dry_run: bool,
    /// Commit the new offsets.
    #[arg(long)]
    execute: bool,
}

pub async fn run(args: Args) -> anyhow::Result<()> {
    let modes = [args.list, args.describe, args.delete, args.reset_offsets];
    if modes.iter().filter(|m| **m).count() != 1 {
        bail!("exactly one of --list, --describe, --delete or --reset-offsets is needed");
    }
    let admin = Admin::connect(ClientConfig::new(&args.bootstrap_server))
        .await
        .context("cannot connect")?;
    let cluster = admin.cluster().clone();
    if args.delete {
        if args.group.is_empty() {
            bail!("--delete needs --group");
        }
        for g in &args.group {
            delete_group(&cluster, g).await?;
        }
        let names: Vec<String> = args.group.iter().map(|g| format!("'{g}'")).collect();
        println!(
            "Deletion of requested consumer groups ({}) was successful.",
            names.join(", ")
        );
        return Ok(());
    }
    if args.reset_offsets {
        return reset_offsets(&admin, &args).await;
    }
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

async fn reset_offsets(admin: &Admin, args: &Args) -> anyhow::Result<()> {
    let cluster = admin.cluster().clone();
    let [group] = args.group.as_slice() else {
        bail!("--reset-offsets needs exactly one --group");
    };
    let specs = [
        args.to_earliest,
        args.to_latest,
        args.to_current,
        args.to_offset.is_some(),
        args.shift_by.is_some(),
        args.to_datetime.is_some(),
        args.by_duration.is_some(),
    ];
    if specs.iter().filter(|s| **s).count() != 1 {
        bail!("--reset-offsets needs one of --to-earliest, --to-latest, --to-current, --to-offset, --shift-by, --to-datetime, --by-duration");
    }
    // A point in time, for --to-datetime and --by-duration (parsed before anything is asked).
    let at_time = match (&args.to_datetime, &args.by_duration) {
        (Some(d), _) => Some(crate::time::parse_datetime(d)?),
        (_, Some(d)) => {
            let now = chrono::Utc::now().timestamp_millis();
            Some(now - crate::time::parse_duration(d)?)
        }
        _ => None,
    };
    if args.dry_run && args.execute {
        bail!("--dry-run and --execute exclude each other");
    }
    let d = describe_group(&cluster, group).await?;
    if !d.members.is_empty() {
        bail!(
            "Assignments can only be reset if the group '{group}' is inactive, but the current state is {}.",
            d.state
        );
    }
    let committed: HashMap<TopicPartition, i64> = d.committed.iter().cloned().collect();
    // topic -> partitions (None: all)
    let mut wanted: BTreeMap<String, Option<Vec<i32>>> = BTreeMap::new();
    if args.all_topics {
        for tp in committed.keys() {
            wanted.insert(tp.topic.clone(), None);
        }
    }
    for t in &args.topic {
        match t.split_once(':') {
            Some((name, ps)) => {
                let ps = ps
                    .split(',')
                    .map(|p| p.trim().parse::<i32>())
                    .collect::<Result<Vec<_>, _>>()
                    .with_context(|| format!("--topic {t}: expected topic:0,1,..."))?;
                wanted.insert(name.to_string(), Some(ps));
            }
            None => {
                wanted.insert(t.clone(), None);
            }
        }
    }
    if wanted.is_empty() {
        bail!("--reset-offsets needs --topic or --all-topics");
    }
    let mut plan: Vec<(TopicPartition, i64)> = Vec::new();
    for (topic, parts) in &wanted {
        let earliest = admin
            .list_offsets(topic, parts.as_deref(), OffsetSpec::Earliest)
            .await?;
        let latest = admin
            .list_offsets(topic, parts.as_deref(), OffsetSpec::Latest)
            .await?;
        let by_time = match at_time {
            Some(t) => Some(
                admin
                    .list_offsets(topic, parts.as_deref(), OffsetSpec::Timestamp(t))
                    .await?,
            ),
            None => None,
        };
        for (i, (e, l)) in earliest.iter().zip(latest.iter()).enumerate() {
            let tp = TopicPartition::new(topic, e.partition);
            let current = committed.get(&tp).copied();
            let target = if args.to_earliest {
                e.offset
            } else if args.to_latest {
                l.offset
            } else if let Some(o) = args.to_offset {
                o
            } else if let Some(s) = args.shift_by {
                current.unwrap_or(l.offset) + s
            } else if let Some(found) = &by_time {
                // No record at or after the time: the log end, as Kafka's tool does.
                match found.get(i) {
                    Some(f) if f.partition == e.partition && f.offset >= 0 => f.offset,
                    _ => l.offset,
                }
            } else {
                current.unwrap_or(l.offset)
            };
            plan.push((tp, target.clamp(e.offset, l.offset)));
        }
    }
    println!();
    println!(
        "{:<30} {:<30} {:<10} {:<15}",
        "GROUP", "TOPIC", "PARTITION", "NEW-OFFSET"
    );
    for (tp, o) in &plan {
        println!(
            "{}",
            format!("{group:<30} {:<30} {:<10} {o:<15}", tp.topic, tp.partition).trim_end()
        );
    }
    if args.execute {
        commit_group_offsets(&cluster, group, &plan).await?;
    } else {
        eprintln!("No offsets were committed: this was a dry run (add --execute).");
    }
    Ok(())
}
