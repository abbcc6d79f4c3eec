//! The AWS-RunShellScript command text for one SendCommand, and reading back
//! what it printed. SSM has no stdin, so the text carries the bundle (gzip,
//! base64, once per command) and each instance's envelope (base64); the
//! script pipes the envelope into the entry so it never touches disk.
//! Knows nothing of the SDK: text in, text out.

use std::io::Write;

use crate::transport::{Exit, Program};

const TEMPLATE: &str = include_str!("script.sh");

/// Status lines are looked for this far into stdout, no further.
const MAX_PREAMBLE: usize = 4096;

/// Bytes the script's status lines may add around the plugin's stdout:
/// the preamble, then the END line (`\nRUNE1 END <nonce> <status>\n`, the
/// status a number or `signal <number>`).
pub(super) const FRAME_BYTES: usize = MAX_PREAMBLE + 64;

/// What the SSM agent appends to stdout when it cut the output short.
pub(super) const TRUNCATED_SUFFIX: &str = "--output truncated--";

/// The parts of a command every instance of one SendCommand shares.
pub(super) struct Common {
    pub program: Program,
    /// `RUNE_PARAM_*` exports; never secrets (policy refuses those over SSM).
    pub env: Vec<(String, String)>,
    /// Marks the status lines of this command, so plugin output cannot fake them.
    pub nonce: String,
    /// `bundle` mode: the archive, gzip then base64.
    encoded_bundle: String,
}

impl Common {
    pub(super) fn new(program: Program, env: Vec<(String, String)>) -> std::io::Result<Self> {
        let encoded_bundle = match &program {
            Program::Bundle(bundle) => {
                // A tar of shell scripts is mostly padding and text: gzip keeps
                // the command well inside SSM's document size limit.
                let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
                gz.write_all(&bundle.archive)?;
                data_encoding::BASE64.encode(&gz.finish()?)
            }
            Program::Installed(_) => String::new(),
        };
        Ok(Self {
            program,
            env,
            nonce: uuid::Uuid::new_v4().simple().to_string(),
            encoded_bundle,
        })
    }

    /// Bytes of command text before any envelope: the batch size budget's base.
    pub(super) fn base_len(&self) -> usize {
        TEMPLATE.len() + self.encoded_bundle.len() + 256
    }
}

/// Bytes one instance's envelope adds to the command text.
pub(super) fn member_len(instance_id: &str, envelope: &[u8]) -> usize {
    data_encoding::BASE64.encode_len(envelope.len()) + instance_id.len() + 16
}

/// The `commands` parameter: one line per element, as the agent joins them.
/// `members` are (instance id, envelope); with one member the envelope is
/// used unconditionally, with several the script picks its own by
/// `AWS_SSM_INSTANCE_ID`, which the agent sets for every command.
pub(super) fn commands(common: &Common, members: &[(&str, &[u8])]) -> Vec<String> {
    let (sum, entry, workdir, mode, tools) = match &common.program {
        Program::Bundle(b) => (
            b.sha256.clone(),
            b.entry.clone(),
            b.workdir.clone(),
            "bundle",
            "gzip tar sha256sum",
        ),
        Program::Installed(path) => (String::new(), path.clone(), ".".into(), "installed", ""),
    };
    let envelopes = match members {
        [(_, envelope)] => format!("envelope='{}'", data_encoding::BASE64.encode(envelope)),
        many => {
            let mut text = String::from("case \"${AWS_SSM_INSTANCE_ID:-}\" in\n");
            for (instance, envelope) in many {
                text += &format!(
                    "{}) envelope='{}' ;;\n",
                    quote(instance),
                    data_encoding::BASE64.encode(envelope)
                );
            }
            text += "*) echo \"RUNE1 ERR this command carries no envelope for instance \
                     ${AWS_SSM_INSTANCE_ID:-(AWS_SSM_INSTANCE_ID is not set)}\"; exit 98 ;;\nesac";
            text
        }
    };
    let exports: String = common
        .env
        .iter()
        .map(|(k, v)| format!("export {k}={}\n", quote(v)))
        .collect();
    let text = TEMPLATE
        .replace("@NONCE@", &common.nonce)
        .replace("@SHA256@", &quote(&sum))
        .replace("@ENTRY@", &quote(&entry))
        .replace("@WORKDIR@", &quote(&workdir))
        .replace("@MODE@", mode)
        .replace("@TOOLS@", tools)
        .replace("@BUNDLE@", &format!("'{}'", common.encoded_bundle))
        .replace("@ENVELOPES@", &envelopes)
        .replace("@EXPORTS@", exports.trim_end());
    text.lines().map(str::to_owned).collect()
}

/// POSIX single-quoting: safe for any string but NUL.
fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}

/// What the command's stdout says happened.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Printed {
    /// The entry ran. `exit` is its status when the END line survived; when
    /// it did not, the output was cut (SSM's cap) or the script was killed.
    Ran { stdout: Vec<u8>, exit: Option<Exit> },
    /// The bundle that arrived does not hash to what was sent.
    BadSum,
    /// The script could not start the plugin, and said why.
    Failed(String),
    /// No status line at all: the script never got going.
    Silent,
}

/// Reads the status lines around the plugin's output.
pub(super) fn parse(stdout: &str, nonce: &str) -> Printed {
    let ready = format!("RUNE1 READY {nonce}\n");
    let head = &stdout[..floor_char_boundary(stdout, MAX_PREAMBLE)];
    let Some(at) = head.find(&ready) else {
        return match head.lines().find_map(|l| l.strip_prefix("RUNE1 ")) {
            Some(status) if status.starts_with("BADSUM") => Printed::BadSum,
            Some(status) => Printed::Failed(status.trim_start_matches("ERR ").to_owned()),
            None => Printed::Silent,
        };
    };
    let body = &stdout[at + ready.len()..];
    let end = format!("\nRUNE1 END {nonce} ");
    if let Some(pos) = body.rfind(&end) {
        let status = body[pos + end.len()..].trim_end();
        let exit = match status.strip_prefix("signal ") {
            Some(signal) => signal.parse().ok().map(Exit::Signal),
            None => status.parse().ok().map(Exit::Code),
        };
        if exit.is_some() {
            return Printed::Ran {
                stdout: body.as_bytes()[..pos].to_vec(),
                exit,
            };
        }
    }
    let cut = body.strip_suffix(TRUNCATED_SUFFIX).unwrap_or(body);
    Printed::Ran {
        stdout: cut.as_bytes().to_vec(),
        exit: None,
    }
}

/// Removes the agent's own last line ("failed to run commands: exit status
/// 1"), which it adds to stderr whenever the script exits non-zero.
pub(super) fn strip_agent_note(stderr: &str) -> &str {
    let trimmed = stderr.trim_end_matches('\n');
    match trimmed.rsplit_once('\n') {
        Some((before, last)) if is_agent_note(last) => before,
        None if is_agent_note(trimmed) => "",
        _ => stderr,
    }
}

fn is_agent_note(line: &str) -> bool {
    line.strip_prefix("failed to run commands: exit status ")
        .is_some_and(|n| n.trim().parse::<i32>().is_ok())
}

fn floor_char_boundary(s: &str, mut at: usize) -> usize {
    if at >= s.len() {
        return s.len();
    }
    while !s.is_char_boundary(at) {
        at -= 1;
    }
    at
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::transport::{Bundle, BundleFile};

    fn common(tamper: bool) -> Common {
        let files = vec![
            BundleFile {
                path: "a/run.sh".into(),
                executable: false,
                data: b"source \"$(dirname \"${BASH_SOURCE[0]}\")/../lib/x.sh\"\nx\n".to_vec(),
            },
            BundleFile {
                path: "lib/x.sh".into(),
                executable: false,
                data: b"x() { printf 'pwd=%s param=%s stdin=' \"${PWD##*/}\" \"$RUNE_PARAM_X\"; cat; }\n"
                    .to_vec(),
            },
        ];
        let mut bundle = Bundle::build("a/run.sh".into(), "a".into(), files).unwrap();
        if tamper {
            bundle.sha256 = "0".repeat(64);
        }
        Common::new(
            Program::Bundle(Arc::new(bundle)),
            vec![("RUNE_PARAM_X".into(), "it's $(x)".into())],
        )
        .unwrap()
    }

    /// Runs the commands as the agent would: joined by newlines, under `sh`,
    /// in a session of their own (the script reaps its process group).
    fn run(commands: &[String], instance: &str, tmp: &std::path::Path) -> (String, String, i32) {
        let out = std::process::Command::new("setsid")
            .args(["-w", "sh", "-c"])
            .arg(commands.join("\n"))
            .env("AWS_SSM_INSTANCE_ID", instance)
            .env("TMPDIR", tmp)
            .output()
            .unwrap();
        (
            String::from_utf8(out.stdout).unwrap(),
            String::from_utf8(out.stderr).unwrap(),
            out.status.code().unwrap(),
        )
    }

    #[test]
    fn the_script_hands_each_instance_its_own_envelope_and_cleans_up() {
        let tmp = tempfile::tempdir().unwrap();
        let common = common(false);
        let commands = commands(
            &common,
            &[("i-aaa", b"{\"for\":\"a\"}"), ("i-bbb", b"{\"for\":\"b\"}")],
        );
        let (stdout, stderr, code) = run(&commands, "i-bbb", tmp.path());
        assert_eq!(code, 0, "{stdout}\n{stderr}");
        assert_eq!(
            parse(&stdout, &common.nonce),
            Printed::Ran {
                stdout: b"pwd=a param=it's $(x) stdin={\"for\":\"b\"}".to_vec(),
                exit: Some(Exit::Code(0))
            }
        );
        assert_eq!(std::fs::read_dir(tmp.path()).unwrap().count(), 0);
        let (stdout, _, code) = run(&commands, "i-ccc", tmp.path());
        assert_eq!(code, 98);
        assert!(matches!(parse(&stdout, &common.nonce), Printed::Failed(m) if m.contains("i-ccc")));
    }

    #[test]
    fn a_failing_plugin_keeps_its_status_in_the_end_line_only() {
        let tmp = tempfile::tempdir().unwrap();
        let common = Common::new(Program::Installed("/bin/sh".into()), Vec::new()).unwrap();
        // The installed "plugin" is sh reading the envelope as its script.
        let commands = commands(&common, &[("i-aaa", b"echo out; exit 194")]);
        let (stdout, _, code) = run(&commands, "i-aaa", tmp.path());
        assert_eq!(code, 1, "194 would ask the SSM agent to reboot");
        assert_eq!(
            parse(&stdout, &common.nonce),
            Printed::Ran {
                stdout: b"out\n".to_vec(),
                exit: Some(Exit::Code(194))
            }
        );
    }

    /// A signal is told from an exit status of 128 + n by the shell's own
    /// report, which goes to a file, never to the plugin's stderr.
    #[test]
    fn a_plugin_killed_by_a_signal_is_told_from_one_exiting_137() {
        let tmp = tempfile::tempdir().unwrap();
        let common = Common::new(Program::Installed("/bin/sh".into()), Vec::new()).unwrap();
        for (script, exit) in [
            ("echo out; kill -KILL $$", Exit::Signal(9)),
            ("echo out; kill -TERM $$", Exit::Signal(15)),
            ("echo out; exit 137", Exit::Code(137)),
        ] {
            let commands = commands(&common, &[("i-aaa", script.as_bytes())]);
            let (stdout, stderr, _) = run(&commands, "i-aaa", tmp.path());
            assert_eq!(
                parse(&stdout, &common.nonce),
                Printed::Ran {
                    stdout: b"out\n".to_vec(),
                    exit: Some(exit)
                },
                "{script}"
            );
            assert_eq!(stderr, "", "{script}");
        }
    }

    #[test]
    fn a_bundle_that_does_not_match_its_hash_is_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let common = common(true);
        let (stdout, _, code) = run(&commands(&common, &[("i-a", b"{}")]), "i-a", tmp.path());
        assert_eq!(code, 97);
        assert_eq!(parse(&stdout, &common.nonce), Printed::BadSum);
    }

    #[test]
    fn cut_output_has_no_end_line() {
        let nonce = "n1";
        let printed = parse(
            &format!("RUNE1 READY n1\n{{\"a\":\"xxxx{TRUNCATED_SUFFIX}"),
            nonce,
        );
        assert_eq!(
            printed,
            Printed::Ran {
                stdout: b"{\"a\":\"xxxx".to_vec(),
                exit: None
            }
        );
        // A plugin printing an END line without the nonce cannot fake its status.
        let printed = parse("RUNE1 READY n1\nx\nRUNE1 END n0 0\n", nonce);
        assert!(matches!(printed, Printed::Ran { exit: None, .. }));
        assert_eq!(parse("", nonce), Printed::Silent);
    }

    #[test]
    fn the_agents_own_stderr_note_is_dropped() {
        assert_eq!(
            strip_agent_note("jq is required\nfailed to run commands: exit status 1\n"),
            "jq is required"
        );
        assert_eq!(
            strip_agent_note("failed to run commands: exit status 1"),
            ""
        );
        assert_eq!(strip_agent_note("plain\n"), "plain\n");
    }
}
