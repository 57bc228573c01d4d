//! `weir`: the single binary. Each subcommand (one file each) parses its flags, which mirror
//! Kafka's tools, and calls into a library crate: `weir-broker` for `broker`, `weir-client`
//! for the rest. Errors are printed as one line on stderr with a non-zero exit code.

mod broker;
mod configs;
mod consume;
mod dump_log;
mod groups;
mod offsets;
mod perf;
mod produce;
mod time;
mod topics;

use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};
use tracing_subscriber::EnvFilter;

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
    Broker(broker::Args),
    /// Create, list, describe, alter and delete topics (kafka-topics).
    Topics(topics::Args),
    /// Send lines from stdin as records (kafka-console-producer).
    Produce(produce::Args),
    /// Print records of a topic (kafka-console-consumer).
    Consume(consume::Args),
    /// List and describe consumer groups with their lag (kafka-consumer-groups).
    Groups(groups::Args),
    /// Describe and alter topic and broker configs (kafka-configs).
    Configs(configs::Args),
    /// Print partition offsets as topic:partition:offset (kafka-get-offsets).
    Offsets(offsets::Args),
    /// Performance tests (kafka-producer-perf-test).
    #[command(subcommand)]
    Perf(perf::Command),
    /// Print the batches and records of segment files (kafka-dump-log).
    DumpLog(dump_log::Args),
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_env("WEIR_LOG").unwrap_or_else(|_| EnvFilter::new(default_log())),
        )
        .with_writer(std::io::stderr)
        .init();
    quiet_on_closed_stdout();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Broker(args) => broker::run(args),
        Command::DumpLog(args) => dump_log::run(args),
        Command::Topics(args) => block_on(topics::run(args)),
        Command::Produce(args) => block_on(produce::run(args)),
        Command::Consume(args) => block_on(consume::run(args)),
        Command::Groups(args) => block_on(groups::run(args)),
        Command::Configs(args) => block_on(configs::run(args)),
        Command::Offsets(args) => block_on(offsets::run(args)),
        Command::Perf(cmd) => block_on(perf::run(cmd)),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// `weir topics --list | head` must end quietly like a Kafka tool, not panic: Rust ignores
/// SIGPIPE, so `println!` panics on a closed stdout, and without `unsafe` the signal cannot be
/// restored. The hook turns exactly that panic into a silent exit.
fn quiet_on_closed_stdout() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let msg = info
            .payload()
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| info.payload().downcast_ref::<&str>().copied())
            .unwrap_or("");
        if msg.contains("failed printing to stdout") && msg.contains("Broken pipe") {
            std::process::exit(0);
        }
        default(info);
    }));
}

/// The broker logs at info; the tools stay quiet unless something is wrong.
fn default_log() -> &'static str {
    match std::env::args().nth(1).as_deref() {
        Some("broker") => "info",
        _ => "warn",
    }
}

fn block_on<F: std::future::Future<Output = anyhow::Result<()>>>(f: F) -> anyhow::Result<()> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?
        .block_on(f)
}

/// Splits `key=value`.
pub(crate) fn key_value(s: &str) -> anyhow::Result<(String, String)> {
    let (k, v) = s
        .split_once('=')
        .with_context(|| format!("expected key=value, got {s:?}"))?;
    Ok((k.trim().to_string(), v.to_string()))
}
