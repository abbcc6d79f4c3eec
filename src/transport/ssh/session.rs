//! Connections: TCP (or a direct-tcpip channel through jump hosts), the
//! handshake with host-key trust, authentication, and a pool that keeps one
//! connection per endpoint for the life of the process.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use russh::client::{self, Handle};
use russh::keys::PublicKey;
use tokio::sync::Semaphore;

use super::banner::{Stage, Watch};
use super::config::Endpoint;
use super::known_hosts::{self, Verdict};
use super::{KEEPALIVE, SshSettings, auth};
use crate::transport::TransportError;

/// Exec channels open at once on one connection: below OpenSSH's default
/// MaxSessions (10), so a busy target queues instead of being refused.
pub const MAX_CHANNELS: usize = 8;

/// What the host-key check decided, kept for the error message.
#[derive(Debug, Clone, Default)]
struct KeyCheck {
    refused: Option<(String, String)>,
    note: Option<String>,
}

pub(super) struct Client {
    host: String,
    port: u16,
    settings: Arc<SshSettings>,
    check: Arc<Mutex<KeyCheck>>,
}

impl client::Handler for Client {
    type Error = russh::Error;

    async fn check_server_key(
        &mut self,
        key: &russh::keys::PublicKeyOrCertificate,
    ) -> Result<bool, Self::Error> {
        let russh::keys::PublicKeyOrCertificate::PublicKey { key, .. } = key else {
            self.refuse("host certificates are not supported".into(), String::new());
            return Ok(false);
        };
        Ok(self.judge(key))
    }
}

impl Client {
    fn refuse(&self, reason: String, fingerprint: String) {
        if let Ok(mut check) = self.check.lock() {
            check.refused = Some((reason, fingerprint));
        }
    }

    fn judge(&self, key: &PublicKey) -> bool {
        let fingerprint = known_hosts::fingerprint(key);
        let verdict =
            match known_hosts::check(&self.settings.known_hosts, &self.host, self.port, key) {
                Ok(v) => v,
                Err(e) => {
                    self.refuse(format!("cannot read known_hosts: {e}"), fingerprint);
                    return false;
                }
            };
        match verdict {
            Verdict::Trusted { .. } => true,
            Verdict::Revoked { file, line } => {
                self.refuse(
                    format!("the key is revoked ({}:{line})", file.display()),
                    fingerprint,
                );
                false
            }
            Verdict::Changed { file, line } => {
                let reason = format!(
                    "the host key CHANGED since it was recorded at {}:{line}; this may be an attack, refusing",
                    file.display()
                );
                self.refuse(reason, fingerprint);
                false
            }
            // A host with any recorded key is not new: a server that now
            // offers only another key type is a key change (or a downgrade
            // by an attacker who lacks the known key), so it is refused
            // whatever --accept-new-host-keys says.
            Verdict::Unknown { other_algorithms } if !other_algorithms.is_empty() => {
                let name = if self.port == 22 {
                    self.host.clone()
                } else {
                    format!("[{}]:{}", self.host, self.port)
                };
                let reason = format!(
                    "host {}:{} offered a {} key but known_hosts has only {} keys for it; \
                     refusing a key type swap. If the change is expected, remove the old \
                     entry with ssh-keygen -R '{name}' and connect again",
                    self.host,
                    self.port,
                    key.algorithm(),
                    other_algorithms.join(", ")
                );
                self.refuse(reason, fingerprint);
                false
            }
            Verdict::Unknown { .. } if self.settings.accept_new_host_keys => {
                let file = &self.settings.rune_known_hosts;
                if let Err(e) = known_hosts::append(file, &self.host, self.port, key) {
                    self.refuse(format!("cannot record the new host key: {e}"), fingerprint);
                    return false;
                }
                let note = format!(
                    "accepted new host key {fingerprint} ({}) for {}:{}, saved to {}",
                    key.algorithm(),
                    self.host,
                    self.port,
                    file.display()
                );
                if let Ok(mut check) = self.check.lock() {
                    check.note = Some(note);
                }
                true
            }
            Verdict::Unknown { .. } => {
                let reason = format!(
                    "unknown host {}:{} ({}); verify the fingerprint, then pass --accept-new-host-keys",
                    self.host,
                    self.port,
                    key.algorithm()
                );
                self.refuse(reason, fingerprint);
                false
            }
        }
    }
}

/// One authenticated connection, with the jump connections it rides on.
pub(super) struct Conn {
    pub handle: Handle<Client>,
    /// Kept alive for as long as the connection through them is.
    _jumps: Vec<Handle<Client>>,
    pub channels: Semaphore,
    last_used: Mutex<Instant>,
}

impl Conn {
    fn usable(&self, idle_expiry: Duration) -> bool {
        !self.handle.is_closed()
            && self
                .last_used
                .lock()
                .is_ok_and(|t| t.elapsed() < idle_expiry)
    }

    fn touch(&self) {
        if let Ok(mut t) = self.last_used.lock() {
            *t = Instant::now();
        }
    }
}

/// Where one endpoint's connection lives; its lock serializes connecting.
type Slot = tokio::sync::Mutex<Option<Arc<Conn>>>;

/// One connection per endpoint, shared by concurrent and later executions.
#[derive(Default)]
pub(super) struct Pool {
    slots: Mutex<HashMap<String, Arc<Slot>>>,
}

impl Pool {
    /// A live connection to `endpoint`, opening one when needed. The notes
    /// (accepted host keys) come only with a new connection.
    pub async fn get(
        &self,
        endpoint: &Endpoint,
        settings: &Arc<SshSettings>,
    ) -> Result<(Arc<Conn>, Vec<String>), TransportError> {
        let slot = {
            let mut slots = self
                .slots
                .lock()
                .map_err(|_| TransportError::Io("connection pool poisoned".into()))?;
            Arc::clone(slots.entry(endpoint.label()).or_default())
        };
        let mut guard = slot.lock().await;
        if let Some(conn) = guard.as_ref().filter(|c| c.usable(settings.idle_expiry)) {
            conn.touch();
            return Ok((Arc::clone(conn), Vec::new()));
        }
        let (conn, notes) = connect(endpoint, settings).await?;
        let conn = Arc::new(conn);
        *guard = Some(Arc::clone(&conn));
        Ok((conn, notes))
    }
}

fn client_config(endpoint: &Endpoint) -> Arc<client::Config> {
    let mut config = client::Config {
        keepalive_interval: Some(endpoint.alive_interval.unwrap_or(KEEPALIVE)),
        keepalive_max: 3,
        nodelay: true,
        ..client::Config::default()
    };
    if let Some(names) = &endpoint.kex {
        let mut kex: Vec<russh::kex::Name> = names
            .iter()
            .filter_map(|n| russh::kex::Name::try_from(n.as_str()).ok())
            .collect();
        if !kex.is_empty() {
            kex.extend([
                russh::kex::EXTENSION_SUPPORT_AS_CLIENT,
                russh::kex::EXTENSION_OPENSSH_STRICT_KEX_AS_CLIENT,
            ]);
            config.preferred.kex = kex.into();
        }
    }
    Arc::new(config)
}

/// Connects through the jump chain to `endpoint`, checking every hop's host key and authenticating on each.
async fn connect(
    endpoint: &Endpoint,
    settings: &Arc<SshSettings>,
) -> Result<(Conn, Vec<String>), TransportError> {
    let mut hops: Vec<Handle<Client>> = Vec::new();
    let mut notes = Vec::new();
    for hop in endpoint.jumps.iter().chain(std::iter::once(endpoint)) {
        let label = hop.label();
        let timeout = hop.connect_timeout.unwrap_or(settings.connect_timeout);
        let (mut handle, note) = open_hop(hop, hops.last(), settings, timeout).await?;
        notes.extend(note);
        tokio::time::timeout(
            timeout.max(Duration::from_secs(30)),
            auth::authenticate(&mut handle, hop, settings),
        )
        .await
        .map_err(|_| TransportError::Auth {
            target: label.clone(),
            tried: String::new(),
            reason: "authentication timed out".into(),
        })??;
        hops.push(handle);
    }
    let handle = hops
        .pop()
        .ok_or_else(|| TransportError::Io("empty connection chain".into()))?;
    Ok((
        Conn {
            handle,
            _jumps: hops,
            channels: Semaphore::new(MAX_CHANNELS),
            last_used: Mutex::new(Instant::now()),
        },
        notes,
    ))
}

/// Opens one hop, directly or through `previous`, up to a verified host key.
/// OpenSSH's ConnectTimeout semantics: `timeout` covers TCP connect, banner
/// and key exchange; the banner alone must also come within the banner
/// timeout of the connection opening. The note is an accepted host key.
async fn open_hop(
    hop: &Endpoint,
    previous: Option<&Handle<Client>>,
    settings: &Arc<SshSettings>,
    timeout: Duration,
) -> Result<(Handle<Client>, Option<String>), TransportError> {
    let check = Arc::new(Mutex::new(KeyCheck::default()));
    let client = Client {
        host: hop.host.clone(),
        port: hop.port,
        settings: Arc::clone(settings),
        check: Arc::clone(&check),
    };
    let banner_timeout = settings.banner_timeout.min(timeout);
    let watch = Watch::new();
    let config = client_config(hop);
    let handshake = async {
        match previous {
            None => {
                let tcp = tokio::net::TcpStream::connect((hop.host.as_str(), hop.port))
                    .await
                    .map_err(russh::Error::from)?;
                let _ = tcp.set_nodelay(true);
                watch.connected();
                client::connect_stream(config, watch.wrap(tcp), client).await
            }
            Some(previous) => {
                let channel = previous
                    .channel_open_direct_tcpip(
                        hop.host.clone(),
                        u32::from(hop.port),
                        "127.0.0.1",
                        0,
                    )
                    .await?;
                watch.connected();
                client::connect_stream(config, watch.wrap(channel.into_stream()), client).await
            }
        }
    };
    let result = tokio::select! {
        result = tokio::time::timeout(timeout, handshake) => result.ok(),
        () = watch.banner_overdue(banner_timeout) => None,
    };
    let key_check = check.lock().map(|c| c.clone()).unwrap_or_default();
    match result {
        Some(Ok(handle)) => Ok((handle, key_check.note)),
        Some(Err(e)) => {
            watch.abandon();
            Err(handshake_error(hop.label(), e, key_check))
        }
        None => {
            watch.abandon();
            Err(TransportError::Connect {
                target: hop.label(),
                reason: stalled(&watch, timeout, banner_timeout),
            })
        }
    }
}

/// Why a connection attempt ran out of time, by how far it got.
fn stalled(watch: &Watch, timeout: Duration, banner_timeout: Duration) -> String {
    let secs = |d: Duration| d.as_secs_f32();
    match watch.stage() {
        Stage::Connecting => format!(
            "no TCP connection within {}s (ConnectTimeout)",
            secs(timeout)
        ),
        Stage::Connected => format!(
            "connected, but the server sent no SSH banner within {}s (banner timeout)",
            secs(banner_timeout)
        ),
        Stage::Identified => format!(
            "the server sent {:?} but no SSH handshake completed within {}s (ConnectTimeout)",
            watch.banner(),
            secs(timeout)
        ),
    }
}

fn handshake_error(target: String, error: russh::Error, check: KeyCheck) -> TransportError {
    if let Some((reason, fingerprint)) = check.refused {
        return TransportError::HostKey {
            target,
            reason,
            fingerprint,
        };
    }
    let reason = match &error {
        russh::Error::IO(io) => io.to_string(),
        russh::Error::Disconnect => "the server closed the connection during the handshake".into(),
        other => other.to_string(),
    };
    TransportError::Connect { target, reason }
}
