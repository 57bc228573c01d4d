//! End-to-end tests: in-process brokers on 127.0.0.1:0 with temp dirs, driven over real
//! sockets with requests encoded by `kafka-protocol`.

mod admin;
mod bad_input;
mod produce_fetch;
mod support;
