//! One execution on an open connection: a single exec channel whose stdin
//! carries the bundle and then the envelope behind the prelude. The channel
//! is drained on every path, because russh stalls a whole connection when
//! one channel's queue fills; cancel kills the remote session from a
//! second channel on the same connection.

use std::collections::VecDeque;
use std::time::Duration;

use russh::ChannelMsg;
use tokio::sync::mpsc;

use super::session::Conn;
use crate::transport::{Exit, Finished, Job, Program, Progress, TransportError};

const PRELUDE: &str = include_str!("prelude.sh");
const BODY: &str = include_str!("body.sh");

/// Extra time the remote deadline allows beyond the action's timeout, so
/// RUNE's own timeout (and its clean kill) normally comes first.
const REMOTE_GRACE: Duration = Duration::from_secs(15);
/// The status line is short; junk before it (a chatty login shell) is bounded.
const MAX_PREAMBLE: usize = 4096;
/// Stderr held back while the consumer is slow, so this channel never stops being drained.
const MAX_PENDING_STDERR: usize = 1024 * 1024;
/// How long a cancelled execution waits for the channel to close after the kill.
const CLOSE_GRACE: Duration = Duration::from_secs(5);

pub(super) async fn run(
    conn: &Conn,
    job: Job,
    progress: mpsc::Sender<Progress>,
) -> Result<Finished, TransportError> {
    let target = job.target.clone();
    let lost = |e: russh::Error| TransportError::Lost {
        target: target.clone(),
        reason: e.to_string(),
        stdout: Vec::new(),
    };
    let _permit = conn
        .channels
        .acquire()
        .await
        .map_err(|_| TransportError::Io("connection closed".into()))?;
    let channel = conn.handle.channel_open_session().await.map_err(lost)?;
    let (command, bundle, mode) = command(&job);
    channel.exec(true, command).await.map_err(lost)?;
    let (mut read, write) = channel.split();
    let stdin = job.stdin;
    let writer = async move {
        // Errors here mean the remote side is gone or stopped reading; the reader reports why.
        if let Some(bundle) = bundle {
            let _ = write.data(&bundle[..]).await;
        }
        let _ = write.data(&stdin[..]).await;
        let _ = write.eof().await;
        write
    };
    let mut out = Output::new(job.stdout_limit, progress);
    let mut killed = false;
    let reader = async {
        let mut deadline: Option<tokio::time::Instant> = None;
        // The kill runs beside the reading, never instead of it: a flooding
        // channel whose messages nobody takes stalls the whole connection,
        // the kill's own channel included.
        let mut stopping: std::pin::Pin<Box<dyn Future<Output = ()> + Send + '_>> =
            Box::pin(std::future::pending());
        loop {
            let message = tokio::select! {
                message = read.wait() => message,
                () = job.cancel.cancelled(), if !killed => {
                    killed = true;
                    stopping = Box::pin(kill(conn, kill_script(out.session.as_ref())));
                    deadline = Some(tokio::time::Instant::now() + CLOSE_GRACE);
                    continue;
                }
                () = &mut stopping => {
                    stopping = Box::pin(std::future::pending());
                    continue;
                }
                () = sleep_until(deadline) => break,
            };
            match message {
                None | Some(ChannelMsg::Close) => break,
                Some(message) => out.take(message),
            }
            // Past the cap the verdict is -32103 whatever follows: stop the
            // plugin instead of carrying an endless stream until the timeout.
            if out.overflowed() && deadline.is_none() {
                stopping = Box::pin(kill(conn, kill_script(out.session.as_ref())));
                deadline = Some(tokio::time::Instant::now() + CLOSE_GRACE);
            }
        }
    };
    let (_write, ()) = tokio::join!(writer, reader);
    out.finish(&target, killed, mode).await
}

async fn sleep_until(deadline: Option<tokio::time::Instant>) {
    match deadline {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

/// The exec command and the bundle bytes to send first.
fn command(job: &Job) -> (String, Option<std::sync::Arc<[u8]>>, &'static str) {
    let deadline = (job.timeout + REMOTE_GRACE).as_secs().max(1);
    let exports: String = job
        .env
        .iter()
        .map(|(k, v)| format!("export {k}={}\n", quote(v)))
        .collect();
    let (size, sum, entry, workdir, bundle, mode) = match &job.program {
        Program::Bundle(b) => (
            b.archive.len(),
            b.sha256.clone(),
            b.entry.clone(),
            b.workdir.clone(),
            Some(b.archive.clone()),
            "bundle",
        ),
        Program::Installed(path) => (
            0,
            String::new(),
            path.clone(),
            ".".into(),
            None,
            "installed",
        ),
    };
    let body = BODY
        .replace("@SIZE@", &size.to_string())
        .replace("@SHA256@", &quote(&sum))
        .replace("@ENTRY@", &quote(&entry))
        .replace("@WORKDIR@", &quote(&workdir))
        .replace("@DEADLINE@", &deadline.to_string())
        .replace("@EXPORTS@", &exports);
    let script = PRELUDE.replace("@BODY@", &quote(&body));
    (format!("exec sh -c {}", quote(&script)), bundle, mode)
}

/// POSIX single-quoting: safe for any byte string but NUL.
fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}

/// What the prelude reported before the plugin started.
struct Session {
    sid: String,
    dir: String,
}

/// Collects one channel's output without ever blocking its reader.
struct Output {
    limit: u64,
    preamble: Vec<u8>,
    ready: bool,
    status: Option<String>,
    session: Option<Session>,
    stdout: Vec<u8>,
    stdout_total: u64,
    exit: Exit,
    progress: mpsc::Sender<Progress>,
    pending: VecDeque<Vec<u8>>,
    pending_bytes: usize,
    dropped: u64,
}

impl Output {
    fn new(limit: u64, progress: mpsc::Sender<Progress>) -> Self {
        Self {
            limit,
            preamble: Vec::new(),
            ready: false,
            status: None,
            session: None,
            stdout: Vec::new(),
            stdout_total: 0,
            exit: Exit::Unknown,
            progress,
            pending: VecDeque::new(),
            pending_bytes: 0,
            dropped: 0,
        }
    }

    fn take(&mut self, message: ChannelMsg) {
        match message {
            ChannelMsg::Data { data } => self.stdout(&data),
            ChannelMsg::ExtendedData { data, ext: 1 } => self.stderr(data.to_vec()),
            ChannelMsg::ExitStatus { exit_status } => {
                self.exit = Exit::Code(i32::try_from(exit_status).unwrap_or(i32::MAX))
            }
            ChannelMsg::ExitSignal { signal_name, .. } => {
                self.exit = Exit::Signal(signal_number(&signal_name))
            }
            _ => {}
        }
    }

    fn stdout(&mut self, data: &[u8]) {
        if self.ready {
            let room = self.limit.saturating_sub(self.stdout.len() as u64) as usize;
            self.stdout.extend_from_slice(&data[..data.len().min(room)]);
            self.stdout_total += data.len() as u64;
            return;
        }
        self.preamble.extend_from_slice(data);
        while let Some(end) = self.preamble.iter().position(|&b| b == b'\n') {
            let line: Vec<u8> = self.preamble.drain(..=end).collect();
            let line = String::from_utf8_lossy(&line).trim_end().to_owned();
            if let Some(rest) = line.strip_prefix("RUNE1 READY ") {
                let mut parts = rest.split(' ');
                if let (Some(sid), Some(dir)) = (parts.next(), parts.next()) {
                    self.session = Some(Session {
                        sid: sid.into(),
                        dir: dir.into(),
                    });
                }
                self.ready = true;
                let rest = std::mem::take(&mut self.preamble);
                self.stdout(&rest);
                return;
            }
            if let Some(rest) = line.strip_prefix("RUNE1 ") {
                self.status = Some(rest.to_owned());
            }
        }
        if self.preamble.len() > MAX_PREAMBLE {
            self.preamble.clear();
        }
    }

    /// More stdout than the cap arrived.
    fn overflowed(&self) -> bool {
        self.stdout_total > self.limit
    }

    /// Forwards stderr without waiting; a slow consumer makes chunks wait
    /// here (bounded), never in russh's channel queue.
    fn stderr(&mut self, chunk: Vec<u8>) {
        self.flush();
        if !self.pending.is_empty() {
            self.hold(chunk);
            return;
        }
        if let Err(mpsc::error::TrySendError::Full(Progress::Stderr(chunk))) =
            self.progress.try_send(Progress::Stderr(chunk))
        {
            self.hold(chunk);
        }
    }

    fn hold(&mut self, chunk: Vec<u8>) {
        self.pending_bytes += chunk.len();
        self.pending.push_back(chunk);
        while self.pending_bytes > MAX_PENDING_STDERR {
            match self.pending.pop_front() {
                Some(old) => {
                    self.pending_bytes -= old.len();
                    self.dropped += old.len() as u64;
                }
                None => break,
            }
        }
    }

    fn flush(&mut self) {
        while let Some(chunk) = self.pending.pop_front() {
            let len = chunk.len();
            match self.progress.try_send(Progress::Stderr(chunk)) {
                Ok(()) => self.pending_bytes -= len,
                Err(mpsc::error::TrySendError::Full(Progress::Stderr(chunk))) => {
                    self.pending.push_front(chunk);
                    return;
                }
                Err(_) => {
                    self.pending.clear();
                    self.pending_bytes = 0;
                    return;
                }
            }
        }
    }

    async fn finish(
        mut self,
        target: &str,
        killed: bool,
        mode: &'static str,
    ) -> Result<Finished, TransportError> {
        for chunk in std::mem::take(&mut self.pending) {
            let _ = self.progress.send(Progress::Stderr(chunk)).await;
        }
        if self.dropped > 0 {
            let note = format!(
                "{} bytes of stderr were dropped while the consumer lagged",
                self.dropped
            );
            let _ = self.progress.send(Progress::Note(note)).await;
        }
        if let Some(status) = self.status.filter(|_| !self.ready) {
            return Err(match status.strip_prefix("BADSUM") {
                Some(_) => TransportError::ChecksumMismatch {
                    target: target.into(),
                },
                None => TransportError::Spawn(format!(
                    "on {target}: {}",
                    status.trim_start_matches("ERR ")
                )),
            });
        }
        if self.exit == Exit::Unknown && !killed && self.stdout_total <= self.limit {
            let reason = if self.ready {
                "the channel closed before the plugin exited"
            } else {
                "the channel closed before the plugin started"
            };
            return Err(TransportError::Lost {
                target: target.into(),
                reason: reason.into(),
                stdout: self.stdout,
            });
        }
        Ok(Finished {
            exit: self.exit,
            stdout: self.stdout,
            stdout_total: self.stdout_total,
            killed,
            mode,
        })
    }
}

/// The command that kills every process of the execution's remote session
/// and removes its directory; `None` when the prelude never reported them
/// (or reported something that does not look like them). Every process is
/// stopped before any is killed, so none can react to a sibling's death: a
/// shell would report "Killed" on the plugin's stderr.
fn kill_script(session: Option<&Session>) -> Option<String> {
    let session = session?;
    let safe_dir = session.dir.starts_with('/')
        && session.dir.contains("/rune.")
        && !session.dir.contains(['\'', ' ', '\n']);
    if !session.sid.bytes().all(|b| b.is_ascii_digit()) || !safe_dir {
        return None;
    }
    let script = format!(
        "sid={}; ps=; for s in /proc/[0-9]*/stat; do {{ read -r l < \"$s\"; }} 2>/dev/null || continue; p=${{s#/proc/}}; p=${{p%/stat}}; \
         set -- ${{l##*) }}; [ \"$4\" = \"$sid\" ] && ps=\"$ps $p\"; done; \
         [ -n \"$ps\" ] && {{ kill -STOP $ps; kill -KILL $ps; }} 2>/dev/null; rm -rf {}",
        session.sid,
        quote(&session.dir)
    );
    Some(format!("exec sh -c {}", quote(&script)))
}

/// Runs `script` over a second channel: OpenSSH does not kill a command
/// without a pty when its channel closes.
async fn kill(conn: &Conn, script: Option<String>) {
    let Some(script) = script else { return };
    let run = async {
        let mut channel = conn.handle.channel_open_session().await.ok()?;
        channel.exec(false, script).await.ok()?;
        while channel.wait().await.is_some() {}
        Some(())
    };
    let _ = tokio::time::timeout(CLOSE_GRACE, run).await;
}

fn signal_number(sig: &russh::Sig) -> i32 {
    use russh::Sig;
    match sig {
        Sig::HUP => 1,
        Sig::INT => 2,
        Sig::QUIT => 3,
        Sig::ILL => 4,
        Sig::ABRT => 6,
        Sig::FPE => 8,
        Sig::KILL => 9,
        Sig::USR1 => 10,
        Sig::SEGV => 11,
        Sig::PIPE => 13,
        Sig::ALRM => 14,
        Sig::TERM => 15,
        Sig::Custom(_) => -1,
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::transport::{Address, Bundle, BundleFile, SshAddress};

    #[test]
    fn quoting_survives_single_quotes_and_newlines() {
        let value = "it's a\n'test' $(rm -rf /) `x`";
        let out = std::process::Command::new("sh")
            .arg("-c")
            .arg(format!("printf %s {}", quote(value)))
            .output()
            .unwrap();
        assert_eq!(String::from_utf8(out.stdout).unwrap(), value);
    }

    /// The prelude, run by a local `sh` exactly as sshd would run it.
    fn run_prelude(tamper: bool) -> (Output, Vec<u8>) {
        let file = BundleFile {
            path: "a/run.sh".into(),
            executable: true,
            data: b"#!/bin/sh\ncat\n".to_vec(),
        };
        let mut bundle = Bundle::build("a/run.sh".into(), "a".into(), vec![file]).unwrap();
        if tamper {
            bundle.sha256 = "0".repeat(64);
        }
        let job = Job {
            target: "localhost".into(),
            address: Address::Ssh(SshAddress::default()),
            program: Program::Bundle(Arc::new(bundle.clone())),
            stdin: b"{\"envelope\":true}".to_vec(),
            env: vec![("RUNE_PARAM_X".into(), "it's".into())],
            stdout_limit: 1024,
            timeout: Duration::from_secs(5),
            cancel: tokio_util::sync::CancellationToken::new(),
            fanout: crate::transport::Fanout::default(),
        };
        let (command, _, _) = command(&job);
        // Its own session, as under sshd: the prelude reaps its whole session.
        let mut child = std::process::Command::new("setsid")
            .args(["-w", "sh", "-c"])
            .arg(command)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdin = child.stdin.take().unwrap();
        std::io::Write::write_all(&mut stdin, &bundle.archive).unwrap();
        std::io::Write::write_all(&mut stdin, &job.stdin).unwrap();
        drop(stdin);
        let out = child.wait_with_output().unwrap();
        let (tx, _rx) = mpsc::channel(8);
        let mut output = Output::new(1024, tx);
        output.stdout(&out.stdout);
        (output, out.stdout)
    }

    #[test]
    fn the_prelude_hands_the_plugin_exactly_the_envelope() {
        let (output, raw) = run_prelude(false);
        assert!(output.ready, "{}", String::from_utf8_lossy(&raw));
        assert_eq!(output.stdout, b"{\"envelope\":true}");
        assert!(output.session.is_some());
    }

    #[test]
    fn the_prelude_refuses_a_bundle_that_does_not_match_its_hash() {
        let (output, raw) = run_prelude(true);
        assert!(!output.ready, "{}", String::from_utf8_lossy(&raw));
        assert!(output.status.as_deref().unwrap_or("").starts_with("BADSUM"));
        let finished = tokio::runtime::Runtime::new()
            .unwrap()
            .block_on(output.finish("t", false, "bundle"));
        assert!(matches!(
            finished,
            Err(TransportError::ChecksumMismatch { .. })
        ));
    }
}
