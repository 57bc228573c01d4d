//! `weir`: the single binary. Each subcommand parses its flags and calls into a library crate.

use std::path::PathBuf;

use anyhow::Context;
use clap::{Parser, Subcommand};
use tracing_subscriber::EnvFilter;
use weir_broker::{Broker, BrokerConfig};

#[derive(Parser)]
#[command(
    name = "weir",
    version,
    about = "Weir: a Kafka-compatible event-streaming platform"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Start a broker. With no flags: PLAINTEXT://127.0.0.1:9092, data in ./weir-data,
    /// node id 1, topics auto-created.
    Broker {
        /// A Kafka `server.properties` file (Kafka's property names).
        #[arg(long)]
        config: Option<PathBuf>,
        /// Override one property, `key=value`; repeatable; applied after --config.
        #[arg(long = "override", value_name = "KEY=VALUE")]
        overrides: Vec<String>,
    },
}

fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_env("WEIR_LOG").unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    match cli.command {
        Command::Broker { config, overrides } => run_broker(config, overrides),
    }
}

fn run_broker(config: Option<PathBuf>, overrides: Vec<String>) -> anyhow::Result<()> {
    let config =
        BrokerConfig::load(config.as_deref(), &overrides).context("invalid configuration")?;
    for key in config.unknown_keys() {
        tracing::warn!(key = %key, "unknown configuration key (ignored)");
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(async {
        let broker = Broker::start(config)
            .await
            .context("broker failed to start")?;
        shutdown_signal().await?;
        tracing::info!("shutting down");
        broker.shutdown().await.context("unclean shutdown")
    })
}

async fn shutdown_signal() -> anyhow::Result<()> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = signal(SignalKind::terminate()).context("cannot watch SIGTERM")?;
    tokio::select! {
        r = tokio::signal::ctrl_c() => r.context("cannot watch SIGINT")?,
        _ = term.recv() => {}
    }
    Ok(())
}
