//! Peers that accept a TCP connection and then fail to be SSH servers: one
//! never speaks, one sends its banner and then stalls the key exchange. Each
//! ends in -32405 at its own timeout, naming how far it got, and RUNE closes
//! the socket instead of leaving it to the peer.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use rune::protocol::eps::code;

use super::failures::run_inline;
use super::{Env, eps_code, reason};
use crate::support::rune;

/// A loopback peer that accepts one connection, optionally sends `banner`,
/// then reads until RUNE closes; it reports how long the socket stayed open.
fn peer(banner: Option<&'static str>) -> (u16, mpsc::Receiver<Duration>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let (mut socket, _) = listener.accept().unwrap();
        let opened = Instant::now();
        if let Some(banner) = banner {
            socket.write_all(banner.as_bytes()).unwrap();
        }
        socket
            .set_read_timeout(Some(Duration::from_secs(60)))
            .unwrap();
        let mut buf = [0u8; 4096];
        while matches!(socket.read(&mut buf), Ok(n) if n > 0) {}
        let _ = tx.send(opened.elapsed());
    });
    (port, rx)
}

fn inline(port: u16) -> String {
    format!(
        "[[targets]]\nname = \"mute\"\ntransport = \"ssh\"\nhost = \"127.0.0.1\"\nport = {port}\n"
    )
}

#[tokio::test]
async fn a_peer_that_never_speaks_fails_at_the_banner_timeout() {
    let env = Env::start(1);
    let (port, closed) = peer(None);
    let mut settings = env.settings();
    settings.connect_timeout = Duration::from_secs(30);
    settings.banner_timeout = Duration::from_secs(1);
    let clock = Instant::now();
    let report = run_inline(&env, settings, &inline(port), "mute").await;
    let result = &report.results[0];
    assert_eq!(eps_code(result), code::NETWORK, "{}", reason(result));
    assert!(
        reason(result).contains("sent no SSH banner within 1s (banner timeout)"),
        "{}",
        reason(result)
    );
    assert!(
        clock.elapsed() < Duration::from_secs(10),
        "took {:?}",
        clock.elapsed()
    );
    let open = closed
        .recv_timeout(Duration::from_secs(10))
        .expect("RUNE closed the socket");
    assert!(
        open < Duration::from_secs(10),
        "the socket stayed open {open:?}"
    );
}

#[tokio::test]
async fn a_peer_that_stalls_after_its_banner_fails_at_the_connect_timeout() {
    let env = Env::start(1);
    let (port, closed) = peer(Some("SSH-2.0-Tarpit_1.0\r\n"));
    let mut settings = env.settings();
    settings.connect_timeout = Duration::from_secs(2);
    settings.banner_timeout = Duration::from_secs(1);
    let clock = Instant::now();
    let report = run_inline(&env, settings, &inline(port), "mute").await;
    let result = &report.results[0];
    assert_eq!(eps_code(result), code::NETWORK, "{}", reason(result));
    assert!(
        reason(result).contains(
            "sent \"SSH-2.0-Tarpit_1.0\" but no SSH handshake completed within 2s (ConnectTimeout)"
        ),
        "{}",
        reason(result)
    );
    let took = clock.elapsed();
    assert!(
        took >= Duration::from_secs(2),
        "the banner came in time: {took:?}"
    );
    assert!(took < Duration::from_secs(10), "took {took:?}");
    let open = closed
        .recv_timeout(Duration::from_secs(10))
        .expect("RUNE closed the socket");
    assert!(
        open < Duration::from_secs(10),
        "the socket stayed open {open:?}"
    );
}

/// The binary takes ~/.ssh/config's ConnectTimeout for a host, and the
/// banner timeout from its flag.
#[test]
fn the_binary_takes_connect_timeout_from_ssh_config_and_banner_timeout_from_its_flag() {
    let env = Env::start(1);
    let config = env.ssh_dir().join("config");
    let text = std::fs::read_to_string(&config).unwrap();
    std::fs::write(
        &config,
        format!("Host 127.0.0.1\n    ConnectTimeout 2\n\n{text}"),
    )
    .unwrap();
    let inventory = env.home.path().join("inventory.toml");
    let run = |port: u16, flags: &[&str]| {
        std::fs::write(&inventory, inline(port)).unwrap();
        let out = rune(env.home.path())
            .arg("--inventory")
            .arg(&inventory)
            .args(flags)
            .args(["run", "noop", "-t", "mute", "-o", "json"])
            .env_remove("SSH_AUTH_SOCK")
            .output()
            .unwrap();
        let doc: serde_json::Value = serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)));
        let error = &doc["results"][0]["error"]["error_payload"]["error_data"]["error"];
        (
            error["code"].as_i64().unwrap(),
            error["data"]["reason"].as_str().unwrap().to_owned(),
        )
    };
    let (port, _closed) = peer(Some("SSH-2.0-Tarpit_1.0\r\n"));
    let (code, why) = run(port, &[]);
    assert_eq!(code, code::NETWORK, "{why}");
    assert!(why.contains("within 2s (ConnectTimeout)"), "{why}");
    let (port, _closed) = peer(None);
    let (code, why) = run(port, &["--ssh-banner-timeout", "1s"]);
    assert_eq!(code, code::NETWORK, "{why}");
    assert!(
        why.contains("no SSH banner within 1s (banner timeout)"),
        "{why}"
    );
}
