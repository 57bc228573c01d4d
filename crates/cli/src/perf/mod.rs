//! `weir perf`: performance tests with Kafka's flag names.

pub mod consume;
pub mod produce;

#[derive(clap::Subcommand)]
pub enum Command {
    /// Producer throughput and latency (kafka-producer-perf-test).
    Produce(produce::Args),
    /// Consumer throughput (kafka-consumer-perf-test).
    Consume(consume::Args),
}

pub async fn run(cmd: Command) -> anyhow::Result<()> {
    match cmd {
        Command::Produce(args) => produce::run(args).await,
        Command::Consume(args) => consume::run(args).await,
    }
}
