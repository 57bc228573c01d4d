//! `weir configs`: kafka-configs for topics and brokers.

use anyhow::{bail, Context};
use weir_client::admin::{AlterConfigOp, ConfigResource, ConfigSource};
use weir_client::{Admin, ClientConfig};

#[derive(clap::Args)]
#[command(group(clap::ArgGroup::new("action").required(true).args(["describe", "alter"])))]
pub struct Args {
    #[arg(long)]
    bootstrap_server: String,
    /// topics or brokers.
    #[arg(long)]
    entity_type: String,
    /// Topic name or broker id.
    #[arg(long)]
    entity_name: String,
    #[arg(long)]
    describe: bool,
    /// With --describe: every config, not only the dynamic ones.
    #[arg(long)]
    all: bool,
    #[arg(long)]
    alter: bool,
    /// `k=v,k2=v2`.
    #[arg(long)]
    add_config: Option<String>,
    /// `k,k2`.
    #[arg(long)]
    delete_config: Option<String>,
}

pub async fn run(args: Args) -> anyhow::Result<()> {
    let (resource, kind) = match args.entity_type.as_str() {
        "topics" | "topic" => (ConfigResource::Topic(args.entity_name.clone()), "topic"),
        "brokers" | "broker" => (ConfigResource::Broker(args.entity_name.clone()), "broker"),
        other => bail!("--entity-type must be topics or brokers, not {other:?}"),
    };
    let admin = Admin::connect(ClientConfig::new(&args.bootstrap_server))
        .await
        .context("cannot connect")?;
    if args.describe {
        let entries = admin.describe_configs(&resource).await?;
        let what = if args.all { "All" } else { "Dynamic" };
        println!("{what} configs for {kind} {} are:", args.entity_name);
        for e in entries {
            let dynamic = matches!(
                e.source,
                ConfigSource::DynamicTopicConfig
                    | ConfigSource::DynamicBrokerConfig
                    | ConfigSource::DynamicDefaultBrokerConfig
            );
            if !args.all && !dynamic {
                continue;
            }
            let value = if e.sensitive { None } else { e.value.clone() };
            let value = value.unwrap_or_else(|| "null".into());
            println!(
                "  {}={} sensitive={} synonyms={{{}:{}={}}}",
                e.name,
                value,
                e.sensitive,
                e.source.name(),
                e.name,
                value
            );
        }
        return Ok(());
    }
    let mut ops = Vec::new();
    if let Some(add) = &args.add_config {
        for kv in add.split(',').filter(|s| !s.trim().is_empty()) {
            let (k, v) = crate::key_value(kv)?;
            ops.push(AlterConfigOp::Set(k, v));
        }
    }
    if let Some(del) = &args.delete_config {
        for k in del.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            ops.push(AlterConfigOp::Delete(k.to_string()));
        }
    }
    if ops.is_empty() {
        bail!("--alter needs --add-config or --delete-config");
    }
    admin.incremental_alter_configs(&resource, &ops).await?;
    println!("Completed updating config for {kind} {}.", args.entity_name);
    Ok(())
}
