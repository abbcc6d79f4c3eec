//! RUNE: curated runbook actions, mediated and audited.
//!
//! Data flows one way: request → [`engine`] → [`policy`] (decide, once per
//! plan) → [`mediator`] → [`transport`] → [`mediator::ExecEvent`]s →
//! [`journal`] (commits) → the engine's sink → CLI or console.
//! `docs/architecture.md` follows one request through these modules.
//!
//! - [`protocol`]: BPCS, RCS and EPS envelopes, ids, the output validator, the sanitizer. No I/O.
//! - [`catalog`]: action manifests, bundles, parameters, fuzzy search.
//! - [`inventory`]: targets and selection.
//! - [`config`]: `config.toml`, read by both front ends.
//! - [`policy`]: may a request run (the risk gate); builds the plan and the RCS request.
//! - [`engine`]: the one run pipeline both front ends submit to: decide, record, run, verify.
//! - [`mediator`]: the only code that runs plugins; maps every failure to EPS;
//!   masks the request's secret values in all a target returns.
//! - [`transport`]: moves bytes to targets: local, SSH (russh), SSM (aws-sdk-ssm).
//! - [`journal`]: the SQLite incident journal: hash chain, verify, exports.
//! - [`tui`]: the console: state, update, pure views, themes, the event loop.
//! - [`cli`]: the headless commands; `cli::print` is the only writer to stdout and stderr.

// Everything shown on a terminal goes through cli::print (sanitized text,
// escaped JSON, a closed pipe noted); a stray println! would bypass it.
#![deny(clippy::print_stdout, clippy::print_stderr)]

pub mod catalog;
pub mod cli;
pub mod config;
pub mod engine;
pub mod inventory;
pub mod journal;
pub mod mediator;
pub mod policy;
pub mod protocol;
pub mod transport;
pub mod tui;
