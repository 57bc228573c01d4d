//! `weir broker`: start a broker from a `server.properties` file and `--override`s.

use std::path::PathBuf;

use anyhow::Context;
use weir_broker::{Broker, BrokerConfig};

#[derive(clap::Args)]
pub struct Args {
    /// A Kafka `server.properties` file (Kafka's property names).
    #[arg(long)]
    config: Option<PathBuf>,
    /// Override one property, `key=value`; repeatable; applied after --config.
    #[arg(long = "override", value_name = "KEY=VALUE")]
    overrides: Vec<String>,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let config = BrokerConfig::load(args.config.as_deref(), &args.overrides)
        .context("invalid configuration")?;
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
