//! `rune run`: build the request from the command line, submit it to the
//! engine and print what comes back. The engine decides, records and runs;
//! this file only translates flags and prints. Ctrl-C cancels cleanly:
//! running targets are killed and reported as cancelled, queued ones never start.

use std::io::IsTerminal;

use tokio::sync::mpsc;

use super::args::{Cli, OutputFormat, RunArgs};
use super::output::{Printer, print_dry_run, print_failure};
use super::{EXIT_FAILED, EXIT_OK, EXIT_REFUSED};
use crate::catalog::{Catalog, parse_assignments};
use crate::engine::{Engine, RunEvent, Stopper};
use crate::inventory::Selector;
use crate::mediator::eps::Failure;
use crate::policy::{Confirmation, Operator, ParamInput, RunRequest, Source};

/// Run events buffered between the engine and the printer.
const EVENT_QUEUE: usize = 1024;

pub(super) async fn run(cli: &Cli, args: &RunArgs) -> anyhow::Result<u8> {
    let engine = super::open_engine(cli, Some(args))?;
    if engine.catalog().get(&args.action).is_none() {
        super::catalog_cmds::warn_broken(engine.catalog());
    }
    let request = match build_request(&engine, args) {
        Ok(request) => request,
        Err(failure) => return Ok(refuse(args.output, failure)),
    };
    if args.dry_run {
        return match engine.plan(request) {
            Ok(plan) => {
                print_dry_run(&plan, args.output)?;
                Ok(EXIT_OK)
            }
            Err(refusal) => Ok(refuse(args.output, Failure::Refused(refusal))),
        };
    }
    let (events_tx, mut events_rx) = mpsc::channel::<RunEvent>(EVENT_QUEUE);
    let handle = engine.submit(request, events_tx);
    cancel_on_interrupt(handle.stopper());
    let mut printer = Printer::new(args.output);
    while let Some(event) = events_rx.recv().await {
        if let Err(e) = printer.on(&event) {
            tracing::warn!(error = %e, "printing a run event failed");
        }
    }
    match handle.finish().await {
        Ok(outcome) => {
            printer.report(&outcome)?;
            Ok(if outcome.all_succeeded() {
                EXIT_OK
            } else {
                EXIT_FAILED
            })
        }
        Err(failure @ (Failure::Refused(_) | Failure::Journal(_))) => {
            Ok(refuse(args.output, failure))
        }
        Err(failure) => {
            print_failure(args.output, failure);
            Ok(EXIT_FAILED)
        }
    }
}

fn build_request(engine: &Engine, args: &RunArgs) -> Result<RunRequest, Failure> {
    let mut params = parse_assignments(&args.params).map_err(|e| Failure::Refused(e.into()))?;
    secrets_from_env(engine.catalog(), &args.action, &mut params);
    Ok(RunRequest {
        action: args.action.clone(),
        selector: Selector {
            names: args.targets.clone(),
            tags: args.tags.clone(),
        },
        params: ParamInput::Assignments(params),
        source: Source::Cli,
        operator: Operator::current(),
        incident: args.incident.clone(),
        timeout: args.timeout,
        concurrency: args.concurrency.unwrap_or_else(|| engine.concurrency()),
        max_errors: args.max_errors,
        // A dry run shows the plan of a high-risk action without --yes: it runs nothing.
        confirmation: if args.yes || args.dry_run {
            Confirmation::Explicit
        } else {
            Confirmation::None
        },
        parent_message_id: None,
    })
}

/// A secret parameter not given with `-p` is read from `RUNE_SECRET_NAME`:
/// every local user can read a command line (`ps`), only its owner (and
/// root) a process's environment. A secret on the command line is warned about.
fn secrets_from_env(catalog: &Catalog, action: &str, params: &mut Vec<(String, String)>) {
    let Some(action) = catalog.get(action) else {
        return;
    };
    for param in action.params.iter().filter(|p| p.secret) {
        let var = format!(
            "RUNE_SECRET_{}",
            param.name.to_ascii_uppercase().replace('-', "_")
        );
        if params.iter().any(|(name, _)| *name == param.name) {
            super::print::errln!(
                "rune: warning: the secret parameter `{}` is on the command line, where other local users can read it (ps); pass it in {var} instead",
                param.name
            );
        } else if let Ok(value) = std::env::var(&var) {
            params.push((param.name.clone(), value));
        }
    }
}

/// Whether a passphrase may be asked for on the terminal.
pub(super) fn interactive() -> bool {
    std::io::stdin().is_terminal()
}

fn cancel_on_interrupt(stopper: Stopper) {
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            super::print::errln!(
                "rune: interrupted; cancelling running targets (Ctrl-C again to quit at once)"
            );
            stopper.cancel();
            if tokio::signal::ctrl_c().await.is_ok() {
                std::process::exit(130);
            }
        }
    });
}

fn refuse(format: OutputFormat, failure: Failure) -> u8 {
    print_failure(format, failure);
    EXIT_REFUSED
}
