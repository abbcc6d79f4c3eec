//! End-to-end tests: real plugin processes through the real mediator and
//! binary. One test binary, a module per area.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

mod actions;
mod bounds;
mod cli;
mod console;
mod console_files;
mod engine;
mod faults;
mod hardening;
mod journal;
mod limits;
mod output;
mod secrets;
mod secrets_echoed;
mod ssh;
mod ssm;
mod violations;

#[path = "../support/sshd.rs"]
mod sshd;
