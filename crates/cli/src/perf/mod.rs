//! `weir perf`: performance tests with Kafka's flag names.

pub mod consume;
pub mod e2e;
mod latency;
pub mod produce;

#[derive(clap::Subcommand)]
pub enum Command {
    /// Producer throughput and latency (kafka-producer-perf-test).
    Produce(produce::Args),
    /// Consumer throughput (kafka-consumer-perf-test).
    Consume(consume::Args),
    /// End-to-end latency (produce to consume) at a fixed rate (kafka-e2e-latency).
    E2e(e2e::Args),
}

pub async fn run(cmd: Command) -> anyhow::Result<()> {
    match cmd {
        Command::Produce(args) => produce::run(args).await,
        Command::Consume(args) => consume::run(args).await,
        Command::E2e(args) => e2e::run(args).await,
    }
}
