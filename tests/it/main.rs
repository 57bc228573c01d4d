//! End-to-end tests: in-process brokers on 127.0.0.1:0 with temp dirs, driven over real
//! sockets with requests encoded by `kafka-protocol`.

// Test support code panics on setup failure by design: a failed setup is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod admin;
mod bad_input;
mod compaction;
mod groups;
mod idempotence;
mod produce_fetch;
mod retention;
mod support;
mod transactions;
