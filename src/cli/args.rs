//! The command line, as clap derives it.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// RUNE: run curated runbook actions on many hosts, with an audit trail.
#[derive(Debug, Parser)]
#[command(name = "rune", version, about, long_about = None)]
pub struct Cli {
    /// Catalog directory holding ACTION/action.toml folders [default: the bundled actions/]
    #[arg(long, global = true, env = "RUNE_CATALOG", value_name = "DIR")]
    pub catalog: Option<PathBuf>,
    /// Inventory file of [[targets]] [default: the config dir's inventory.toml, else localhost only]
    #[arg(long, global = true, env = "RUNE_INVENTORY", value_name = "FILE")]
    pub inventory: Option<PathBuf>,
    /// Incident journal (SQLite) [default: journal.db in the platform data dir]
    #[arg(long, global = true, env = "RUNE_JOURNAL", value_name = "FILE")]
    pub journal: Option<PathBuf>,
    /// Console theme: dark, light, high-contrast, mono [default: config.toml's, else dark]
    #[arg(long, global = true, env = "RUNE_THEME", value_name = "NAME")]
    pub theme: Option<String>,
    /// SSH: TCP connect, banner and key exchange of each hop, for hosts whose ~/.ssh/config sets no ConnectTimeout
    #[arg(long, global = true, env = "RUNE_SSH_CONNECT_TIMEOUT", value_name = "DURATION", value_parser = parse_timeout, default_value = "10s")]
    pub ssh_connect_timeout: std::time::Duration,
    /// SSH: from the TCP connection opening to the server's identification line (at most the connect timeout)
    #[arg(long, global = true, env = "RUNE_SSH_BANNER_TIMEOUT", value_name = "DURATION", value_parser = parse_timeout, default_value = "5s")]
    pub ssh_banner_timeout: std::time::Duration,
    #[command(subcommand)]
    pub command: Option<Command>,
}

impl Cli {
    /// How SSH targets are reached, from these flags (and their variables).
    pub fn ssh_options(&self) -> crate::engine::SshOptions {
        crate::engine::SshOptions {
            connect_timeout: self.ssh_connect_timeout,
            banner_timeout: self.ssh_banner_timeout,
            ..crate::engine::SshOptions::default()
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run an action on targets, headless
    Run(Box<RunArgs>),
    /// List the catalog's actions, or show one
    Actions(ActionsArgs),
    /// List the inventory's targets
    Targets(TargetsArgs),
    /// Open, list, show and close incidents
    Incident(IncidentArgs),
    /// Add a note to an incident's timeline
    Note(NoteArgs),
    /// Check the journal's hash chain
    Journal(JournalArgs),
    /// Export an incident as evidence
    Export(ExportArgs),
}

#[derive(Debug, Args)]
pub struct IncidentArgs {
    #[command(subcommand)]
    pub command: IncidentCommand,
    /// Print JSON instead of text
    #[arg(long, global = true)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
pub enum IncidentCommand {
    /// Open an incident; prints its id
    Open {
        /// The title, e.g. "nginx 502s"
        #[arg(required = true)]
        title: Vec<String>,
        #[arg(long, value_enum, default_value_t = crate::journal::Severity::Medium)]
        severity: crate::journal::Severity,
        /// A ticket reference, e.g. INC-4211
        #[arg(long)]
        ticket: Option<String>,
    },
    /// List incidents, newest first
    List,
    /// Show an incident with its executions and notes (an id prefix of 4+ characters is enough)
    Show { id: String },
    /// Resolve an incident
    Close { id: String },
}

#[derive(Debug, Args)]
pub struct NoteArgs {
    /// The incident (an id prefix of 4+ characters is enough)
    pub incident: String,
    /// The note's text
    #[arg(required = true)]
    pub text: Vec<String>,
}

#[derive(Debug, Args)]
pub struct JournalArgs {
    #[command(subcommand)]
    pub command: JournalCommand,
}

#[derive(Debug, Subcommand)]
pub enum JournalCommand {
    /// Recompute the hash chain and name the first broken event
    Verify {
        /// A head recorded earlier (SEQ:HASH, e.g. from an export) to detect a truncated tail
        #[arg(long, value_name = "SEQ:HASH")]
        head: Option<crate::journal::Head>,
        /// Print JSON instead of text
        #[arg(long)]
        json: bool,
    },
    /// Test helper for the crash tests: appends stderr events of one execution
    /// in batches through the recorder's path and prints `committed SEQ HASH`
    /// after each commit
    #[command(hide = true)]
    Stress {
        /// Stderr events to append
        #[arg(long, default_value_t = 100_000)]
        events: u64,
        /// Events per transaction
        #[arg(long, default_value_t = 256)]
        batch: usize,
        /// The catalog action the execution runs (only planned, never run)
        #[arg(long, default_value = "noop")]
        action: String,
    },
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    /// The incident (an id prefix of 4+ characters is enough)
    pub incident: String,
    #[arg(short, long, value_enum, default_value_t = crate::journal::export::Format::Json)]
    pub format: crate::journal::export::Format,
    /// Write to FILE (created 0600) instead of stdout
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    /// For people: a line per target, colour on a terminal (NO_COLOR respected)
    Pretty,
    /// One JSON document at the end: the request and every target's result
    Json,
    /// One JSON event per line as it happens
    Ndjson,
}

#[derive(Debug, Args)]
pub struct RunArgs {
    /// The action to run (see `rune actions`)
    pub action: String,
    /// Target name or glob such as 'web-*'; repeatable [default: localhost]
    #[arg(short = 't', long = "target", value_name = "TARGET")]
    pub targets: Vec<String>,
    /// Only targets with this tag; repeatable, all must match
    #[arg(long = "tag", value_name = "KEY=VALUE")]
    pub tags: Vec<String>,
    /// A parameter; repeatable. A secret one is better given as RUNE_SECRET_KEY in the environment, out of `ps`
    #[arg(short = 'p', long = "param", value_name = "KEY=VALUE")]
    pub params: Vec<String>,
    #[arg(short, long, value_enum, default_value_t = OutputFormat::Pretty)]
    pub output: OutputFormat,
    /// Print the plan (targets, transport, envelope) and run nothing
    #[arg(long)]
    pub dry_run: bool,
    /// Confirm a high-risk action
    #[arg(short = 'y', long)]
    pub yes: bool,
    /// Targets running at once [default: config.toml's `concurrency`, else 16]
    #[arg(long, value_name = "N")]
    pub concurrency: Option<usize>,
    /// Start no new target once more than N have failed
    #[arg(long, value_name = "N")]
    pub max_errors: Option<usize>,
    /// Per-execution timeout such as 30s or 5m [default: the manifest's]
    #[arg(long, value_name = "DURATION", value_parser = parse_timeout)]
    pub timeout: Option<std::time::Duration>,
    /// Trust and save the host key of SSH targets never seen before (a changed key is still refused)
    #[arg(long)]
    pub accept_new_host_keys: bool,
    /// Incident id to record under [default: a new id per run]
    #[arg(long, value_name = "ID")]
    pub incident: Option<String>,
    /// Stdout bytes kept per target; more fails the target with -32103
    #[arg(long, value_name = "BYTES", default_value_t = crate::mediator::Limits::default().stdout_bytes)]
    pub max_stdout: u64,
    /// Stderr bytes kept per target as evidence (the newest lines)
    #[arg(long, value_name = "BYTES", default_value_t = crate::mediator::Limits::default().stderr_tail_bytes)]
    pub max_stderr: usize,
    /// Stderr lines streamed and journalled per target; later lines are only counted and kept in the tail [default: config.toml's `max_stderr_lines`, else 10000]
    #[arg(long, value_name = "LINES")]
    pub max_stderr_lines: Option<u64>,
    #[command(flatten)]
    pub aws: AwsArgs,
    #[command(flatten)]
    pub ssm_output: SsmOutputArgs,
}

/// Where the SSM agent writes full output, and where RUNE reads it back.
/// Each falls back to config.toml's `[ssm]` table.
#[derive(Debug, Clone, Default, Args)]
pub struct SsmOutputArgs {
    /// S3 bucket where the SSM agent also writes each command's full output (OutputS3BucketName); stdout SSM cut is read back from it
    #[arg(long, env = "RUNE_SSM_OUTPUT_BUCKET", value_name = "BUCKET")]
    pub ssm_output_bucket: Option<String>,
    /// Key prefix in that bucket (OutputS3KeyPrefix)
    #[arg(long, env = "RUNE_SSM_OUTPUT_PREFIX", value_name = "PREFIX")]
    pub ssm_output_prefix: Option<String>,
    /// S3 endpoint override for reading the output: an S3 VPC endpoint or an emulator (path-style; plain http only to loopback)
    #[arg(long, env = "RUNE_SSM_OUTPUT_ENDPOINT", value_name = "URL")]
    pub ssm_output_endpoint: Option<String>,
}

/// How SSM targets reach AWS; the standard AWS chain fills in the rest.
#[derive(Debug, Clone, Default, Args)]
pub struct AwsArgs {
    /// AWS profile for SSM [default: AWS_PROFILE, else the default profile]
    #[arg(long, value_name = "NAME")]
    pub aws_profile: Option<String>,
    /// AWS region for SSM targets without their own `region` [default: AWS_REGION or the profile's]
    #[arg(long, value_name = "REGION")]
    pub aws_region: Option<String>,
    /// SSM endpoint override: a VPC endpoint or an emulator (plain http only to loopback)
    #[arg(long, env = "RUNE_SSM_ENDPOINT", value_name = "URL")]
    pub ssm_endpoint: Option<String>,
}

impl AwsArgs {
    /// How SSM targets reach AWS: these flags, with `output`'s where given.
    pub fn ssm_options(&self, output: &SsmOutputArgs) -> crate::engine::SsmOptions {
        crate::engine::SsmOptions {
            profile: self.aws_profile.clone(),
            region: self.aws_region.clone(),
            endpoint: self.ssm_endpoint.clone(),
            output_bucket: output.ssm_output_bucket.clone(),
            output_prefix: output.ssm_output_prefix.clone(),
            output_endpoint: output.ssm_output_endpoint.clone(),
        }
    }
}

fn parse_timeout(text: &str) -> Result<std::time::Duration, String> {
    crate::catalog::parse_duration(text)
}

#[derive(Debug, Args)]
pub struct ActionsArgs {
    #[command(subcommand)]
    pub command: Option<ActionsCommand>,
    /// Print JSON instead of a table
    #[arg(long, global = true)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
pub enum ActionsCommand {
    /// List every action, and the manifests that failed to load
    List,
    /// Show one action with its parameters
    Show {
        /// The action's name
        name: String,
    },
}

#[derive(Debug, Args)]
pub struct TargetsArgs {
    #[command(subcommand)]
    pub command: Option<TargetsCommand>,
    /// Print JSON instead of a table
    #[arg(long, global = true)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
pub enum TargetsCommand {
    /// List the inventory's targets (the default)
    List,
    /// Find managed instances and print them, or add them to an inventory file
    Discover(DiscoverArgs),
}

#[derive(Debug, Args)]
pub struct DiscoverArgs {
    /// Ask AWS SSM for its managed instances (DescribeInstanceInformation)
    #[arg(long, required = true)]
    pub ssm: bool,
    /// Only instances with this tag; repeatable, all must match
    #[arg(long = "tag", value_name = "KEY=VALUE")]
    pub tags: Vec<String>,
    /// Append the instances not yet in this inventory file to it; existing entries are kept
    #[arg(long, value_name = "FILE")]
    pub write: Option<PathBuf>,
    #[command(flatten)]
    pub aws: AwsArgs,
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::*;

    #[test]
    fn the_command_line_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn run_takes_repeated_targets_tags_and_params() {
        let cli = Cli::parse_from([
            "rune",
            "run",
            "noop",
            "-t",
            "a",
            "-t",
            "web-*",
            "--tag",
            "role=web",
            "-p",
            "x=1",
            "-o",
            "json",
            "--timeout",
            "5s",
        ]);
        let Some(Command::Run(run)) = cli.command else {
            panic!("expected run")
        };
        assert_eq!(run.targets, ["a", "web-*"]);
        assert_eq!(run.tags, ["role=web"]);
        assert_eq!(run.params, ["x=1"]);
        assert_eq!(run.output, OutputFormat::Json);
        assert_eq!(run.timeout, Some(std::time::Duration::from_secs(5)));
        assert!(Cli::try_parse_from(["rune", "run", "noop", "--timeout", "5M"]).is_err());
    }
}
