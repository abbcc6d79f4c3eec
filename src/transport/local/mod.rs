//! The local transport: a private temporary copy of the bundle, run through
//! tokio::process in its own process group so a timeout or cancel can kill
//! the whole tree, and so can a plugin's exit: nothing it started outlives it.

use std::os::unix::process::ExitStatusExt;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::Duration;

use futures::future::BoxFuture;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::process::{Child, Command};
use tokio::sync::mpsc;

use super::{Capabilities, Exit, Finished, Job, Program, Progress, Transport, TransportError};

mod dirs;
mod fds;

/// A child process in its own group: stdin, live stderr, and a kill that
/// reaches everything it started.
pub const CAPABILITIES: Capabilities = Capabilities {
    stores_command_text: false,
    streams_stderr: true,
    kills_process_tree: true,
};

/// Variables of the operator's environment a plugin still sees. The rest
/// (cloud credentials, tokens, agent sockets) stays out of plugins.
const KEPT_ENV: &[&str] = &[
    "PATH", "HOME", "USER", "LOGNAME", "LANG", "LC_ALL", "LC_CTYPE", "TZ", "TMPDIR",
];

/// How long pipes may stay open after the plugin exited and its group was
/// killed: only a process that escaped the group (setsid) can hold them.
const PIPE_GRACE: Duration = Duration::from_secs(2);

/// Retries of a spawn that found its executable busy stop once the next
/// wait would reach this (1 + 2 + … + 256 ms in all).
const SPAWN_BUSY_LIMIT: Duration = Duration::from_millis(512);

/// Stderr is forwarded in chunks of at most this many bytes.
const CHUNK: usize = 16 * 1024;

/// Runs plugins on this machine.
#[derive(Debug, Clone, Default)]
pub struct Local {
    /// Where private bundle copies go; the system temp dir when `None`.
    pub temp_root: Option<PathBuf>,
    /// Set by the first run, which sweeps what a killed rune left.
    swept: Arc<OnceLock<()>>,
}

impl Transport for Local {
    fn exec(
        &self,
        job: Job,
        progress: mpsc::Sender<Progress>,
    ) -> BoxFuture<'_, Result<Finished, TransportError>> {
        Box::pin(self.run(job, progress))
    }
}

impl Local {
    /// Sweeps what a killed rune left under `root`, in the background, on
    /// this transport's first run.
    fn sweep_once(&self, root: &std::path::Path) {
        if self.swept.set(()).is_ok() {
            let root = root.to_path_buf();
            tokio::task::spawn_blocking(move || {
                let swept = dirs::sweep(&root);
                if swept > 0 {
                    tracing::info!(swept, root = %root.display(), "removed run directories a killed rune left");
                }
            });
        }
    }

    async fn run(
        &self,
        job: Job,
        progress: mpsc::Sender<Progress>,
    ) -> Result<Finished, TransportError> {
        let root = self.temp_root.clone().unwrap_or_else(std::env::temp_dir);
        self.sweep_once(&root);
        let dir = dirs::RunDir::create(&root)?;
        let (mut command, mode) = match &job.program {
            Program::Bundle(bundle) => {
                bundle.unpack(dir.path())?;
                let entry = dir.path().join(&bundle.entry);
                let executable = bundle
                    .files
                    .iter()
                    .any(|f| f.path == bundle.entry && f.executable);
                let mut command = if executable {
                    Command::new(&entry)
                } else {
                    let mut c = Command::new("bash");
                    c.arg(&entry);
                    c
                };
                command.current_dir(dir.path().join(&bundle.workdir));
                (command, "bundle")
            }
            Program::Installed(path) => {
                let mut command = Command::new(path);
                command.current_dir(dir.path());
                (command, "installed")
            }
        };
        command
            .env_clear()
            .envs(
                KEPT_ENV
                    .iter()
                    .filter_map(|k| std::env::var(k).ok().map(|v| (*k, v))),
            )
            .envs(job.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0)
            .kill_on_drop(true);
        // SAFETY: the hook makes only raw system calls into a stack buffer
        // (see fds.rs), which is async-signal-safe between fork and exec.
        unsafe {
            command.pre_exec(fds::close_inherited_on_exec);
        }
        let mut child = spawn(&mut command)
            .await
            .map_err(|e| TransportError::Spawn(e.to_string()))?;
        let _ = progress.send(Progress::Phase("running".into())).await;
        let result = supervise(&mut child, job, progress).await;
        drop(dir);
        result.map(|(exit, stdout, stdout_total, killed)| Finished {
            exit,
            stdout,
            stdout_total,
            killed,
            mode,
        })
    }
}

/// Spawns `command`, retrying while its executable is "busy" (ETXTBSY): a
/// process that another thread forked while the entry was still open for
/// writing holds that descriptor until it execs. Only a concurrent spawn
/// can cause it, and it clears in microseconds, so a few short waits do.
async fn spawn(command: &mut Command) -> std::io::Result<Child> {
    let mut wait = Duration::from_millis(1);
    loop {
        match command.spawn() {
            Err(e)
                if rustix::io::Errno::from_io_error(&e) == Some(rustix::io::Errno::TXTBSY)
                    && wait < SPAWN_BUSY_LIMIT =>
            {
                tokio::time::sleep(wait).await;
                wait *= 2;
            }
            result => return result,
        }
    }
}

async fn supervise(
    child: &mut Child,
    job: Job,
    progress: mpsc::Sender<Progress>,
) -> Result<(Exit, Vec<u8>, u64, bool), TransportError> {
    let pgid = child.id();
    let (Some(mut stdin), Some(stdout), Some(stderr)) =
        (child.stdin.take(), child.stdout.take(), child.stderr.take())
    else {
        return Err(TransportError::Io(
            "the plugin's pipes were not set up".into(),
        ));
    };
    let envelope = job.stdin;
    // A plugin may exit without reading its stdin; a broken pipe is not an error.
    let writer = tokio::spawn(async move {
        let _ = stdin.write_all(&envelope).await;
        let _ = stdin.shutdown().await;
    });
    let overflow = tokio_util::sync::CancellationToken::new();
    let captured = Arc::new(Mutex::new(Captured::default()));
    let out_reader = tokio::spawn(read_capped(
        stdout,
        job.stdout_limit,
        overflow.clone(),
        Arc::clone(&captured),
    ));
    let err_reader = tokio::spawn(forward_stderr(stderr, progress));
    let (status, killed) = tokio::select! {
        status = child.wait() => (status?, false),
        () = job.cancel.cancelled() => {
            kill_group(pgid);
            (child.wait().await?, true)
        }
        // Past the cap the verdict is -32103 whatever follows: stop now
        // instead of draining an endless stream until the timeout.
        () = overflow.cancelled() => {
            kill_group(pgid);
            (child.wait().await?, false)
        }
    };
    // The entry is done: whatever it left running in its group goes too.
    kill_group(pgid);
    writer.abort();
    // A process that escaped the group (setsid) may hold stdout open after
    // the entry exited: stop waiting after the grace, but keep what was read,
    // which is the entry's whole output when it wrote before exiting.
    match tokio::time::timeout(PIPE_GRACE, out_reader).await {
        Ok(Ok(read)) => read?,
        Ok(Err(_)) => {}
        Err(_) => tracing::warn!("stdout stayed open after the plugin exited; using what was read"),
    }
    let Captured {
        kept: stdout,
        total,
    } = std::mem::take(&mut *captured.lock().unwrap_or_else(PoisonError::into_inner));
    let _ = tokio::time::timeout(PIPE_GRACE, err_reader).await;
    let exit = match (status.code(), status.signal()) {
        (Some(code), _) => Exit::Code(code),
        (None, Some(signal)) => Exit::Signal(signal),
        (None, None) => Exit::Unknown,
    };
    Ok((exit, stdout, total, killed))
}

/// Stdout as read so far, shared with the supervisor so that a reader
/// abandoned after the grace still hands over what it read.
#[derive(Debug, Default)]
struct Captured {
    kept: Vec<u8>,
    total: u64,
}

/// Keeps the first `limit` bytes in `into`, reading to EOF so the plugin
/// never blocks on a full pipe; once more than `limit` arrived it fires
/// `overflow` and stops, with a total that says so.
async fn read_capped(
    mut from: impl AsyncRead + Unpin,
    limit: u64,
    overflow: tokio_util::sync::CancellationToken,
    into: Arc<Mutex<Captured>>,
) -> std::io::Result<()> {
    let mut buf = vec![0u8; CHUNK];
    loop {
        let n = from.read(&mut buf).await?;
        if n == 0 {
            return Ok(());
        }
        let mut captured = into.lock().unwrap_or_else(PoisonError::into_inner);
        let room = limit.saturating_sub(captured.kept.len() as u64) as usize;
        captured.kept.extend_from_slice(&buf[..n.min(room)]);
        captured.total += n as u64;
        if captured.total > limit {
            overflow.cancel();
            return Ok(());
        }
    }
}

async fn forward_stderr(mut from: impl AsyncRead + Unpin, progress: mpsc::Sender<Progress>) {
    let mut buf = vec![0u8; CHUNK];
    while let Ok(n) = from.read(&mut buf).await {
        if n == 0
            || progress
                .send(Progress::Stderr(buf[..n].to_vec()))
                .await
                .is_err()
        {
            break;
        }
    }
}

fn kill_group(pgid: Option<u32>) {
    let Some(pid) = pgid
        .and_then(|p| i32::try_from(p).ok())
        .and_then(rustix::process::Pid::from_raw)
    else {
        return;
    };
    // ESRCH (the group is already gone) is the common, harmless case.
    let _ = rustix::process::kill_process_group(pid, rustix::process::Signal::KILL);
}

#[cfg(test)]
mod tests {
    use std::io::Write;
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    /// A writer that still holds the executable makes exec fail with
    /// ETXTBSY; once it lets go, the retried spawn starts the program.
    #[tokio::test]
    async fn a_spawn_waits_out_an_executable_still_open_for_writing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("entry");
        let mut file = std::fs::File::create(&path).unwrap();
        file.write_all(b"#!/bin/sh\necho started\n").unwrap();
        file.set_permissions(std::fs::Permissions::from_mode(0o700))
            .unwrap();
        let busy = Command::new(&path).spawn().unwrap_err();
        assert_eq!(
            rustix::io::Errno::from_io_error(&busy),
            Some(rustix::io::Errno::TXTBSY)
        );
        let release = tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(20)).await;
            drop(file);
        });
        let mut command = Command::new(&path);
        command.stdout(Stdio::piped());
        let child = spawn(&mut command).await.unwrap();
        let out = child.wait_with_output().await.unwrap();
        assert_eq!(out.stdout, b"started\n");
        release.await.unwrap();
    }
}
