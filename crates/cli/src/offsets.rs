//! `weir offsets`: kafka-get-offsets (GetOffsetShell). Prints `topic:partition:offset`.

use anyhow::Context;
use weir_client::admin::OffsetSpec;
use weir_client::{Admin, ClientConfig};

#[derive(clap::Args)]
pub struct Args {
    #[arg(long)]
    bootstrap_server: String,
    #[arg(long)]
    topic: String,
    /// Comma-separated partition ids (default: all).
    #[arg(long)]
    partitions: Option<String>,
    /// -1 latest, -2 earliest, -3 max timestamp, or a timestamp in ms.
    #[arg(long, default_value_t = -1, allow_negative_numbers = true)]
    time: i64,
}

pub async fn run(args: Args) -> anyhow::Result<()> {
    let partitions = match &args.partitions {
        None => None,
        Some(s) => Some(
            s.split(',')
                .map(|p| {
                    p.trim()
                        .parse::<i32>()
                        .with_context(|| format!("bad partition {p:?}"))
                })
                .collect::<Result<Vec<_>, _>>()?,
        ),
    };
    let admin = Admin::connect(ClientConfig::new(&args.bootstrap_server))
        .await
        .context("cannot connect")?;
    let offsets = admin
        .list_offsets(
            &args.topic,
            partitions.as_deref(),
            OffsetSpec::from_time(args.time),
        )
        .await?;
    for o in offsets {
        println!("{}:{}:{}", args.topic, o.partition, o.offset);
    }
    Ok(())
}
