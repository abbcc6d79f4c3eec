//! `rune run`: load, decide, run, print. Ctrl-C cancels cleanly: running
//! targets are killed and reported as cancelled, queued ones never start.

use std::sync::Arc;

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::args::{Cli, OutputFormat, RunArgs};
use super::catalog_cmds::{load_catalog, load_inventory};
use super::output::{Printer, print_dry_run, print_refusal};
use super::{EXIT_FAILED, EXIT_OK, EXIT_REFUSED};
use crate::catalog::parse_assignments;
use crate::inventory::Selector;
use crate::mediator::{Limits, Mediator, Report, Status};
use crate::policy::{
    Confirmation, Operator, ParamInput, Plan, Refusal, RunRequest, Source, decide, verify_request,
};
use crate::protocol::ids;
use std::io::IsTerminal;

use crate::transport::Transports;
use crate::transport::ssh::SshSettings;

/// Events buffered between the mediator and the printer.
const EVENT_QUEUE: usize = 1024;

pub(super) async fn run(cli: &Cli, args: &RunArgs) -> anyhow::Result<u8> {
    let catalog = load_catalog(cli)?;
    let inventory = load_inventory(cli)?;
    if catalog.get(&args.action).is_none() {
        super::catalog_cmds::warn_broken(&catalog);
    }
    let params = match parse_assignments(&args.params) {
        Ok(list) => list,
        Err(e) => return Ok(refuse(args.output, Refusal::Param(e))),
    };
    let request = RunRequest {
        action: args.action.clone(),
        selector: Selector {
            names: args.targets.clone(),
            tags: args.tags.clone(),
        },
        params: ParamInput::Assignments(params),
        source: Source::Cli,
        operator: Operator::current(),
        incident_id: args.incident.clone().unwrap_or_else(ids::message_id),
        timeout: args.timeout,
        concurrency: args.concurrency,
        max_errors: args.max_errors,
        confirmation: if args.yes {
            Confirmation::Explicit
        } else {
            Confirmation::None
        },
        parent_message_id: None,
    };
    // A dry run shows the plan of a high-risk action without --yes: it runs nothing.
    let request = if args.dry_run {
        RunRequest {
            confirmation: Confirmation::Explicit,
            ..request
        }
    } else {
        request
    };
    let plan = match decide(&catalog, &inventory, request) {
        Ok(plan) => Arc::new(plan),
        Err(refusal) => return Ok(refuse(args.output, refusal)),
    };
    if args.dry_run {
        print_dry_run(&plan, args.output)?;
        return Ok(EXIT_OK);
    }
    let mut ssh = SshSettings::from_env();
    ssh.accept_new_host_keys = args.accept_new_host_keys;
    ssh.prompt = std::io::stdin().is_terminal();
    let (transports, warnings) =
        Transports::standard(ssh).map_err(|e| anyhow::anyhow!("ssh config: {e}"))?;
    for warning in warnings {
        eprintln!("rune: warning: {warning}");
    }
    let mut mediator = Mediator::new(transports);
    mediator.limits = Limits {
        stdout_bytes: args.max_stdout,
        stderr_tail_bytes: args.max_stderr,
        ..Limits::default()
    };
    let cancel = CancellationToken::new();
    let on_interrupt = cancel.clone();
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            eprintln!(
                "rune: interrupted; cancelling running targets (Ctrl-C again to quit at once)"
            );
            on_interrupt.cancel();
            if tokio::signal::ctrl_c().await.is_ok() {
                std::process::exit(130);
            }
        }
    });
    let mut printer = Printer::new(args.output);
    let report = execute(&mediator, &plan, &mut printer, &cancel).await?;
    let succeeded: Vec<String> = report
        .results
        .iter()
        .filter(|r| r.status == Status::Success)
        .map(|r| r.target.clone())
        .collect();
    let verify = match verify_request(&plan, &catalog, &succeeded) {
        Some(request) if !cancel.is_cancelled() => match decide(&catalog, &inventory, request) {
            Ok(verify_plan) => {
                let verify_plan = Arc::new(verify_plan);
                let verify_report = execute(&mediator, &verify_plan, &mut printer, &cancel).await?;
                Some((verify_plan, verify_report))
            }
            Err(refusal) => {
                eprintln!("rune: verify refused: {refusal}");
                None
            }
        },
        _ => None,
    };
    let verified = verify.as_ref().is_none_or(|(_, r)| r.all_succeeded());
    printer.report(
        &plan,
        &report,
        verify.as_ref().map(|(p, r)| (p.as_ref(), r)),
    )?;
    Ok(if report.all_succeeded() && verified {
        EXIT_OK
    } else {
        EXIT_FAILED
    })
}

/// Runs one plan, printing its events as they come.
async fn execute(
    mediator: &Mediator,
    plan: &Arc<Plan>,
    printer: &mut Printer,
    cancel: &CancellationToken,
) -> anyhow::Result<Report> {
    let (events_tx, mut events_rx) = mpsc::channel(EVENT_QUEUE);
    printer.request(plan)?;
    let run = mediator.run(Arc::clone(plan), events_tx, cancel.clone());
    let print = async {
        while let Some(event) = events_rx.recv().await {
            printer.event(&event)?;
        }
        anyhow::Ok(())
    };
    let (report, printed) = tokio::join!(run, print);
    printed?;
    Ok(report)
}

fn refuse(format: OutputFormat, refusal: Refusal) -> u8 {
    print_refusal(format, refusal);
    EXIT_REFUSED
}
