//! `rune actions`, `rune targets` (and `targets discover --ssm`), and
//! loading the catalog and inventory the way every command does.

use serde_json::{Value, json};

use super::args::{ActionsArgs, ActionsCommand, Cli, DiscoverArgs, TargetsArgs, TargetsCommand};
use super::print::{Layout, errln, out_json, outln};
use super::{EXIT_FAILED, EXIT_OK, EXIT_REFUSED};
use crate::catalog::{self, Action, Catalog, ParamType, Plugin};
use crate::engine;
use crate::inventory::{self, Inventory};

/// The catalog the command line names, or the bundled one.
pub(super) fn load_catalog(cli: &Cli) -> anyhow::Result<Catalog> {
    let dir = cli.catalog.clone().unwrap_or_else(catalog::default_dir);
    Ok(catalog::load(&dir)?)
}

/// The inventory the command line names, else the config dir's, else localhost only.
pub(super) fn load_inventory(cli: &Cli) -> anyhow::Result<Inventory> {
    if let Some(path) = &cli.inventory {
        return Ok(inventory::load(path)?);
    }
    match inventory::default_path() {
        Some(path) if path.is_file() => Ok(inventory::load(&path)?),
        _ => Ok(Inventory::default()),
    }
}

/// Reports manifests that failed to load, on stderr, so a listing stays usable.
pub(super) fn warn_broken(catalog: &Catalog) {
    for broken in &catalog.broken {
        errln!("rune: broken manifest skipped: {broken}");
    }
}

pub(super) fn actions(cli: &Cli, args: &ActionsArgs) -> anyhow::Result<u8> {
    let catalog = load_catalog(cli)?;
    match &args.command {
        None | Some(ActionsCommand::List) => {
            if args.json {
                let broken: Vec<Value> = catalog
                    .broken
                    .iter()
                    .map(|b| json!({"file": b.file, "field": b.field, "message": b.message}))
                    .collect();
                let actions: Vec<Value> = catalog.actions.iter().map(|a| action_json(a)).collect();
                out_json(
                    &json!({"actions": actions, "broken": broken}),
                    Layout::Pretty,
                )?;
            } else {
                outln!(
                    "{:<18} {:<7} {:<8} {:<14} TITLE",
                    "NAME",
                    "RISK",
                    "TIMEOUT",
                    "TRANSPORTS"
                )?;
                for a in &catalog.actions {
                    let timeout = humantime::format_duration(a.timeout).to_string();
                    outln!(
                        "{:<18} {:<7} {:<8} {:<14} {}",
                        a.name,
                        a.risk.as_str(),
                        timeout,
                        transports(a),
                        a.title
                    )?;
                }
            }
            warn_broken(&catalog);
            Ok(EXIT_OK)
        }
        Some(ActionsCommand::Show { name }) => {
            let Some(action) = catalog.get(name) else {
                errln!("rune: unknown action `{name}`; `rune actions` lists the catalog");
                return Ok(EXIT_REFUSED);
            };
            if args.json {
                out_json(&action_json(action), Layout::Pretty)?;
            } else {
                print_action(action)?;
            }
            Ok(EXIT_OK)
        }
    }
}

fn transports(action: &Action) -> String {
    match &action.transports {
        None => "any".into(),
        Some(list) => list
            .iter()
            .map(|k| k.as_str())
            .collect::<Vec<_>>()
            .join(","),
    }
}

fn action_json(a: &Action) -> Value {
    let params: Vec<Value> = a
        .params
        .iter()
        .map(|p| {
            let mut v = json!({
                "name": p.name, "type": p.kind.name(), "required": p.required, "secret": p.secret,
                "description": p.description, "constraint": p.kind.describe(),
            });
            if let Some(default) = &p.default {
                v["default"] = if p.secret {
                    Value::from("[REDACTED]")
                } else {
                    default.clone()
                };
            }
            if let ParamType::Enum { values } = &p.kind {
                v["values"] = json!(values);
            }
            v
        })
        .collect();
    let installed = match &a.plugin {
        Plugin::Installed(path) => Some(path.clone()),
        Plugin::Bundle(_) => None,
    };
    json!({
        "name": a.name, "title": a.title, "description": a.description, "version": a.version,
        "owner": a.owner, "tags": a.tags, "risk": a.risk, "timeout_ms": a.timeout.as_millis() as u64,
        "transports": a.transports, "verify": a.verify, "bundle_sha256": a.bundle_sha256(),
        "installed": installed, "params": params,
    })
}

fn print_action(a: &Action) -> std::io::Result<()> {
    outln!(
        "{} {} · {} · risk {} · timeout {}",
        a.name,
        a.version,
        a.title,
        a.risk.as_str(),
        humantime::format_duration(a.timeout)
    )?;
    outln!(
        "owner {} · transports {} · tags {}",
        a.owner,
        transports(a),
        a.tags.join(", ")
    )?;
    if let Some(verify) = &a.verify {
        outln!("verify: runs {verify} after success")?;
    }
    outln!("bundle sha256 {}", a.bundle_sha256())?;
    outln!("\n{}\n", a.description)?;
    if a.params.is_empty() {
        outln!("no parameters")?;
    }
    for p in &a.params {
        let mut flags = Vec::new();
        if p.required {
            flags.push("required".to_owned());
        }
        if let Some(d) = &p.default {
            flags.push(if p.secret {
                "default [REDACTED]".into()
            } else {
                format!("default {d}")
            });
        }
        if p.secret {
            flags.push("secret".into());
        }
        outln!(
            "  {:<12} {}{}",
            p.name,
            p.kind.describe(),
            if flags.is_empty() {
                String::new()
            } else {
                format!(", {}", flags.join(", "))
            }
        )?;
        if !p.description.is_empty() {
            outln!("  {:<12} {}", "", p.description)?;
        }
    }
    Ok(())
}

pub(super) fn targets(cli: &Cli, args: &TargetsArgs) -> anyhow::Result<u8> {
    if let Some(TargetsCommand::Discover(discover)) = &args.command {
        return discover_ssm(discover, args.json);
    }
    let inventory = load_inventory(cli)?;
    if args.json {
        out_json(&json!({"targets": inventory.targets}), Layout::Pretty)?;
        return Ok(EXIT_OK);
    }
    outln!("{:<20} {:<9} {:<24} TAGS", "NAME", "TRANSPORT", "ADDRESS")?;
    for t in &inventory.targets {
        let tags: Vec<String> = t.tags.iter().map(|(k, v)| format!("{k}={v}")).collect();
        outln!(
            "{:<20} {:<9} {:<24} {}",
            t.name,
            t.kind().as_str(),
            t.address(),
            tags.join(" ")
        )?;
    }
    Ok(EXIT_OK)
}

/// `rune targets discover --ssm`: lists managed instances, and with
/// `--write` appends the ones the file lacks, named by instance id.
fn discover_ssm(args: &DiscoverArgs, json: bool) -> anyhow::Result<u8> {
    let mut tags = Vec::new();
    for tag in &args.tags {
        let Some((key, value)) = tag.split_once('=').filter(|(k, _)| !k.is_empty()) else {
            errln!("rune: --tag wants KEY=VALUE, got {tag:?}");
            return Ok(EXIT_REFUSED);
        };
        tags.push((key.to_owned(), value.to_owned()));
    }
    let options = args.aws.ssm_options(&Default::default());
    let config = super::load_config()?;
    // The command handlers are synchronous: discovery runs on a thread of its
    // own with its own runtime, which works whatever runtime called us.
    let found = std::thread::scope(|scope| {
        scope
            .spawn(|| {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()?;
                Ok::<_, anyhow::Error>(runtime.block_on(engine::discover_ssm(
                    &options,
                    &config.ssm,
                    &tags,
                )))
            })
            .join()
    });
    let found = match found {
        Ok(Ok(Ok(found))) => found,
        Ok(Ok(Err(e))) => {
            errln!("rune: SSM discovery failed: {e}");
            return Ok(EXIT_FAILED);
        }
        Ok(Err(e)) => return Err(e),
        Err(_) => anyhow::bail!("SSM discovery panicked"),
    };
    let appended = match &args.write {
        Some(path) => {
            let targets: Vec<inventory::Target> =
                found.iter().map(|i| engine::ssm_target(i, &tags)).collect();
            Some(inventory::append(path, &targets)?)
        }
        None => None,
    };
    if json {
        out_json(
            &json!({"instances": found, "written": appended}),
            Layout::Pretty,
        )?;
    } else {
        outln!(
            "{:<21} {:<12} {:<15} {:<16} {:<28} PLATFORM",
            "INSTANCE",
            "REGION",
            "PING",
            "IP",
            "COMPUTER"
        )?;
        for i in &found {
            outln!(
                "{:<21} {:<12} {:<15} {:<16} {:<28} {}",
                i.instance_id,
                i.region,
                i.ping_status,
                i.ip_address,
                i.computer_name,
                i.platform
            )?;
        }
    }
    if let (Some(path), Some(done)) = (&args.write, &appended) {
        errln!(
            "rune: {} added to {}, {} already there",
            done.added.len(),
            path.display(),
            done.skipped.len()
        );
    }
    Ok(EXIT_OK)
}
