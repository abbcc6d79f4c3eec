//! `rune run`: load, decide, record the request, run, record and print.
//! Nothing runs unless its request is committed to the journal first.
//! Ctrl-C cancels cleanly: running targets are killed and reported as
//! cancelled, queued ones never start.

use std::io::IsTerminal;
use std::sync::Arc;

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::args::{Cli, OutputFormat, RunArgs};
use super::catalog_cmds::{load_catalog, load_inventory};
use super::journal_cmds::journal_path;
use super::output::{Printer, RunContext, print_dry_run, print_failure};
use super::{EXIT_FAILED, EXIT_OK, EXIT_REFUSED};
use crate::catalog::{Catalog, parse_assignments};
use crate::inventory::{Inventory, Selector};
use crate::journal::{Journal, recorder};
use crate::mediator::eps::Failure;
use crate::mediator::{Limits, Mediator, Report, Status, start_gate};
use crate::policy::{
    Confirmation, Operator, ParamInput, Plan, RunRequest, Source, decide, verify_request,
};
use crate::transport::Transports;

/// Events buffered between the mediator, the journal and the printer.
const EVENT_QUEUE: usize = 1024;

pub(super) async fn run(cli: &Cli, args: &RunArgs) -> anyhow::Result<u8> {
    let catalog = load_catalog(cli)?;
    let inventory = load_inventory(cli)?;
    if catalog.get(&args.action).is_none() {
        super::catalog_cmds::warn_broken(&catalog);
    }
    let request = match build_request(&catalog, args) {
        Ok(request) => request,
        Err(failure) => return Ok(refuse(args.output, failure)),
    };
    // Checked before the journal is touched: a refused request opens no incident.
    let plan = match decide(&catalog, &inventory, request.clone()) {
        Ok(plan) => plan,
        Err(refusal) => return Ok(refuse(args.output, Failure::Refused(refusal))),
    };
    if args.dry_run {
        print_dry_run(&plan, args.output)?;
        return Ok(EXIT_OK);
    }
    let (mut journal, plan) = match open_and_record(cli, args, &catalog, &inventory, request) {
        Ok(opened) => opened,
        Err(failure) => return Ok(refuse(args.output, failure)),
    };
    let mediator = mediator(cli, args)?;
    let cancel = cancel_on_interrupt();
    let mut printer = Printer::new(args.output);
    let report;
    (journal, report) = match execute(&mediator, journal, &plan, &mut printer, &cancel).await {
        Ok(done) => done,
        Err(e) => return journal_lost(args.output, e),
    };
    let succeeded: Vec<String> = report
        .results
        .iter()
        .filter(|r| r.status == Status::Success)
        .map(|r| r.target.clone())
        .collect();
    let mut verify = None;
    if let Some(request) =
        verify_request(&plan, &catalog, &succeeded).filter(|_| !cancel.is_cancelled())
    {
        match decide(&catalog, &inventory, request) {
            Ok(verify_plan) => {
                let verify_plan = Arc::new(verify_plan);
                if let Err(e) = journal.record_request(&verify_plan) {
                    return journal_lost(args.output, e);
                }
                let verify_report;
                (journal, verify_report) =
                    match execute(&mediator, journal, &verify_plan, &mut printer, &cancel).await {
                        Ok(done) => done,
                        Err(e) => return journal_lost(args.output, e),
                    };
                verify = Some((verify_plan, verify_report));
            }
            Err(refusal) => eprintln!("rune: verify refused: {refusal}"),
        }
    }
    let verified = verify.as_ref().is_none_or(|(_, r)| r.all_succeeded());
    let context = RunContext { journal: &journal };
    printer.report(
        &plan,
        &report,
        verify.as_ref().map(|(p, r)| (p.as_ref(), r)),
        &context,
    )?;
    Ok(if report.all_succeeded() && verified {
        EXIT_OK
    } else {
        EXIT_FAILED
    })
}

fn build_request(catalog: &Catalog, args: &RunArgs) -> Result<RunRequest, Failure> {
    let mut params = parse_assignments(&args.params).map_err(|e| Failure::Refused(e.into()))?;
    secrets_from_env(catalog, &args.action, &mut params);
    Ok(RunRequest {
        action: args.action.clone(),
        selector: Selector {
            names: args.targets.clone(),
            tags: args.tags.clone(),
        },
        params: ParamInput::Assignments(params),
        source: Source::Cli,
        operator: Operator::current(),
        incident_id: args
            .incident
            .clone()
            .unwrap_or_else(|| "(chosen when recorded)".into()),
        timeout: args.timeout,
        concurrency: args.concurrency,
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
            eprintln!(
                "rune: warning: the secret parameter `{}` is on the command line, where other local users can read it (ps); pass it in {var} instead",
                param.name
            );
        } else if let Ok(value) = std::env::var(&var) {
            params.push((param.name.clone(), value));
        }
    }
}

/// Opens the journal, picks the incident and commits the request: any
/// failure here means nothing runs (no unaudited action).
fn open_and_record(
    cli: &Cli,
    args: &RunArgs,
    catalog: &Catalog,
    inventory: &Inventory,
    mut request: RunRequest,
) -> Result<(Journal, Arc<Plan>), Failure> {
    let journal_failure = |e: crate::journal::Error| Failure::Journal(e.to_string());
    let path = journal_path(cli).map_err(|e| Failure::Journal(e.to_string()))?;
    let mut journal = Journal::open(&path).map_err(journal_failure)?;
    let operator = request.operator.id();
    let (incident, choice) = journal
        .choose_incident(args.incident.as_deref(), &operator, &args.action)
        .map_err(|e| match e {
            crate::journal::Error::UnknownIncident(_)
            | crate::journal::Error::IncidentClosed(_) => {
                Failure::Refused(crate::policy::Refusal::BadOption(e.to_string()))
            }
            other => journal_failure(other),
        })?;
    eprintln!(
        "rune: recording under incident {} \"{}\" ({})",
        incident.id,
        incident.title,
        choice.describe()
    );
    request.incident_id = incident.id;
    let plan = Arc::new(decide(catalog, inventory, request).map_err(Failure::Refused)?);
    journal.record_request(&plan).map_err(journal_failure)?;
    Ok((journal, plan))
}

fn mediator(cli: &Cli, args: &RunArgs) -> anyhow::Result<Mediator> {
    let mut ssh = cli.ssh_settings();
    ssh.accept_new_host_keys = args.accept_new_host_keys;
    ssh.prompt = std::io::stdin().is_terminal();
    let (transports, warnings) =
        Transports::standard(ssh).map_err(|e| anyhow::anyhow!("ssh config: {e}"))?;
    // Lazy: no AWS configuration is read unless an SSM target runs.
    let config = super::console::load_config()?;
    let mut ssm = args.aws.ssm_settings();
    args.ssm_output.apply(&config.ssm, &mut ssm);
    config.ssm.fill(&mut ssm);
    let transports = transports.with_ssm(ssm);
    for warning in warnings {
        eprintln!("rune: warning: {warning}");
    }
    let mut mediator = Mediator::new(transports);
    mediator.limits = Limits {
        stdout_bytes: args.max_stdout,
        stderr_tail_bytes: args.max_stderr,
        stream_lines: args.max_stderr_lines,
        ..Limits::default()
    };
    Ok(mediator)
}

fn cancel_on_interrupt() -> CancellationToken {
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
    cancel
}

/// Runs one plan: mediator → journal (commits) → printer.
async fn execute(
    mediator: &Mediator,
    journal: Journal,
    plan: &Arc<Plan>,
    printer: &mut Printer,
    cancel: &CancellationToken,
) -> Result<(Journal, Report), crate::journal::Error> {
    let (events_tx, events_rx) = mpsc::channel(EVENT_QUEUE);
    let (recorded_tx, mut recorded_rx) = mpsc::channel(EVENT_QUEUE);
    if let Err(e) = printer.request(plan) {
        tracing::warn!(error = %e, "printing the request failed");
    }
    let (gate, start_wait) = start_gate();
    let run = mediator.run_gated(
        Arc::clone(plan),
        events_tx,
        cancel.clone(),
        Some(start_wait),
    );
    let record = recorder::record(
        journal,
        Arc::clone(plan),
        events_rx,
        recorded_tx,
        cancel.clone(),
        gate,
    );
    let print = async {
        while let Some(event) = recorded_rx.recv().await {
            if let Err(e) = printer.event(&event) {
                tracing::warn!(error = %e, "printing an event failed");
            }
        }
    };
    let (report, journal, ()) = tokio::join!(run, record, print);
    Ok((journal?, report))
}

fn journal_lost(format: OutputFormat, error: crate::journal::Error) -> anyhow::Result<u8> {
    print_failure(format, Failure::JournalLost(error.to_string()));
    Ok(EXIT_FAILED)
}

fn refuse(format: OutputFormat, failure: Failure) -> u8 {
    print_failure(format, failure);
    EXIT_REFUSED
}
