//! RUNE vanishing in the middle of a 50-target SSH fan-out: the `rune`
//! process SIGKILLed, or the network to every target going silent. The
//! journal must account for every execution on the next start and verify,
//! and the prelude's remote deadline (the action's timeout + 15 s grace,
//! `REMOTE_GRACE` in src/transport/ssh/exec.rs) must end every process of
//! the action on the targets although RUNE's own kill never arrives.

use std::net::SocketAddr;
use std::path::Path;
use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rune::inventory::Inventory;
use rune::mediator::Status;
use tokio::net::{TcpListener, TcpStream};
use tokio_util::sync::CancellationToken;

use super::journal::Audit;
use super::{Nap, wait_until};
use crate::journal::text;
use crate::ssh::Env;
use crate::support::request;

/// The timeout every execution gets here, and the remote deadline it implies.
const TIMEOUT: Duration = Duration::from_secs(3);
const REMOTE_DEADLINE: Duration = Duration::from_secs(3 + 15);
/// Slack on a loaded 2-core machine: at the deadline 50 sessions each scan
/// /proc for their processes at once. The plugin sleeps 120 s, far past
/// deadline and slack, so a missing deadline still fails the tests.
const SLACK: Duration = Duration::from_secs(15);

#[test]
fn sigkill_mid_fan_out_leaves_every_execution_accounted_and_no_remote_process() {
    let env = Env::start(50);
    let nap = Nap::new("sigkill");
    let inventory = env.home.path().join("farm.toml");
    std::fs::write(&inventory, env.farm.inventory_toml()).unwrap();
    let journal = nap.dir.path().join("j.db");
    let mut cmd = nap.rune(env.home.path(), &journal, Some(&inventory));
    cmd.args([
        "run",
        "nap",
        "-t",
        "ssh-*",
        "--concurrency",
        "50",
        "-o",
        "json",
    ])
    .args(["--timeout", "3s"]);
    for p in nap.params("120") {
        cmd.arg("-p").arg(p);
    }
    let clock = Instant::now();
    let mut child = cmd
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_until("50 plugins to start", Duration::from_secs(60), || {
        assert!(child.try_wait().unwrap().is_none(), "rune ended on its own");
        nap.started().len() == 50
    });
    let started_in = clock.elapsed();
    child.kill().unwrap();
    let stderr = child.wait_with_output().unwrap().stderr;
    let killed = Instant::now();
    // sshd does not end a session's processes when its client vanishes.
    let orphans = nap.leftovers();
    assert!(
        orphans > 0,
        "nothing outlived rune: {}",
        String::from_utf8_lossy(&stderr)
    );

    // Any journal-opening command closes the dead run's executions.
    let restart = nap
        .rune(env.home.path(), &journal, None)
        .args(["incident", "list"])
        .output()
        .unwrap();
    assert!(restart.status.success(), "{}", text(&restart).1);
    let verify = nap
        .rune(env.home.path(), &journal, None)
        .args(["journal", "verify"])
        .output()
        .unwrap();
    assert!(verify.status.success(), "{}", text(&verify).1);
    assert!(text(&verify).0.starts_with("ok: "), "{}", text(&verify).0);
    let audit = Audit::read(&journal);
    assert_eq!(audit.ends.len(), 50, "{audit:?}");
    audit.assert_covers(&nap.started());
    audit.assert_each_ended_once(&["result", "error", "interrupted"]);
    let interrupted = audit.ends.iter().filter(|(_, e)| e[0] == "interrupted");

    let mut gone = None;
    while gone.is_none() {
        let left = nap.leftover_list();
        if left.is_empty() {
            gone = Some(killed.elapsed());
        }
        assert!(
            killed.elapsed() < REMOTE_DEADLINE + SLACK,
            "{} processes outlived the remote deadline:\n{}",
            left.len(),
            left.join("\n")
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let gone = gone.unwrap();
    eprintln!(
        "sigkill: 50 started in {started_in:?}; killed at {:?}; {orphans} marked processes outlived rune; \
         {} of 50 executions interrupted; the last leftover died {:?} after the kill ({:?} after rune started)",
        killed - clock,
        interrupted.count(),
        gone,
        clock.elapsed()
    );
}

/// A TCP relay that can go silent: after `cut` it stops moving bytes but
/// keeps both sockets open, so neither side sees a FIN or RST — what a
/// pulled cable or a dropped route looks like, with no root and no iptables.
/// (Killing rune closes its sockets, which the kernel reports; killing
/// sshd's per-connection process ends the session by other means. Neither
/// is a lost network.)
async fn silent_relay(to: SocketAddr, cut: CancellationToken) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((inbound, _)) = listener.accept().await {
            let Ok(outbound) = TcpStream::connect(to).await else {
                continue;
            };
            let cut = cut.clone();
            tokio::spawn(async move {
                let (mut a_read, mut a_write) = inbound.into_split();
                let (mut b_read, mut b_write) = outbound.into_split();
                let relay = async {
                    tokio::join!(
                        tokio::io::copy(&mut a_read, &mut b_write),
                        tokio::io::copy(&mut b_read, &mut a_write)
                    )
                };
                tokio::select! {
                    _ = relay => return,
                    () = cut.cancelled() => {}
                }
                // Silent from now on: the sockets stay open until the test ends.
                std::future::pending::<()>().await;
                drop((a_read, a_write, b_read, b_write));
            });
        }
    });
    port
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_network_still_ends_every_remote_process_by_the_deadline() {
    let env = Env::start(50);
    let nap = Nap::new("netloss");
    let cut = CancellationToken::new();
    let (mut targets, mut known) = (String::new(), String::new());
    for host in env.farm.hosts() {
        let port = silent_relay(SocketAddr::from((host.addr, host.port)), cut.clone()).await;
        targets += &format!(
            "[[targets]]\nname = \"{}\"\ntransport = \"ssh\"\nhost = \"127.0.0.1\"\nport = {port}\nuser = \"{}\"\n\n",
            host.name,
            env.farm.user()
        );
        known += &format!("[127.0.0.1]:{port} {}\n", env.farm.host_public_key());
    }
    std::fs::write(env.ssh_dir().join("known_hosts"), known).unwrap();
    let inventory = Inventory::parse(&targets, Path::new("relayed.toml")).unwrap();
    let pairs = nap.pairs("120");
    let params: Vec<(&str, &str)> = pairs.iter().map(|(k, v)| (&k[..], &v[..])).collect();
    let mut req = request("nap", &params);
    req.selector.names = vec!["ssh-*".into()];
    req.concurrency = 50;
    req.timeout = Some(TIMEOUT);
    let catalog = rune::catalog::load(&nap.catalog).unwrap();
    let plan = Arc::new(rune::policy::decide(&catalog, &inventory, req).unwrap());
    let mediator = env.mediator(env.settings());
    let (tx, mut rx) = tokio::sync::mpsc::channel(256);
    let drain = tokio::spawn(async move { while rx.recv().await.is_some() {} });
    let clock = Instant::now();
    let run = tokio::spawn(async move { mediator.run(plan, tx, CancellationToken::new()).await });
    while nap.started().len() < 50 {
        assert!(
            clock.elapsed() < Duration::from_secs(60),
            "50 plugins did not start"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    cut.cancel();
    let cut_at = Instant::now();
    let report = run.await.unwrap();
    drain.await.unwrap();
    let reported = cut_at.elapsed();
    let timed_out = report.count(Status::TimedOut);
    // RUNE's kill went into the silence: the processes are all still there.
    let orphans = nap.leftovers();
    assert!(
        orphans > 0,
        "the kill reached the targets through a cut network"
    );
    assert_eq!(timed_out, 50, "{:?}", report.results[0]);

    let mut gone = None;
    while gone.is_none() {
        if nap.leftovers() == 0 {
            gone = Some(cut_at.elapsed());
        }
        assert!(
            clock.elapsed() < REMOTE_DEADLINE + SLACK + Duration::from_secs(5),
            "processes outlived the remote deadline:\n{}",
            nap.leftover_list().join("\n")
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    eprintln!(
        "network lost: cut {:?} after the start; rune reported all {timed_out} timed out {reported:?} after the cut; \
         {orphans} marked processes were left; the last died {:?} after the cut",
        cut_at - clock,
        gone.unwrap()
    );
}
