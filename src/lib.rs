//! RUNE: curated runbook actions, mediated and audited.
//!
//! Data flows one way: request → [`policy`] → [`mediator`] → [`transport`]
//! → [`mediator::ExecEvent`]s → [`journal`] (commits) → CLI or console.
//!
//! - [`protocol`]: BPCS, RCS and EPS envelopes, ids, the output validator, the sanitizer. No I/O.
//! - [`catalog`]: action manifests, bundles, parameters, fuzzy search.
//! - [`inventory`]: targets and selection.
//! - [`policy`]: may a request run; builds the plan and the RCS request.
//! - [`mediator`]: the only code that runs plugins; maps every failure to EPS.
//! - [`transport`]: moves bytes to targets: local, SSH (russh), SSM (aws-sdk-ssm).
//! - [`journal`]: the SQLite incident journal: hash chain, verify, exports.
//! - [`tui`]: the console: state, update, pure views, themes, the event loop.
//! - [`cli`]: the headless commands.

pub mod catalog;
pub mod cli;
pub mod inventory;
pub mod journal;
pub mod mediator;
pub mod policy;
pub mod protocol;
pub mod transport;
pub mod tui;
