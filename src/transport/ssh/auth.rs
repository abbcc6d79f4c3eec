//! Authentication in the order OpenSSH uses: the agent's keys, then the
//! identity files (the config's, else `id_rsa`, `id_ecdsa`, `id_ed25519`).
//! The error names every method tried and what became of it.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use russh::client::Handle;
use russh::keys::agent::AgentIdentity;
use russh::keys::agent::client::AgentClient;
use russh::keys::{PrivateKey, PrivateKeyWithHashAlg, PublicKey};

use super::SshSettings;
use super::config::Endpoint;
use super::session::Client;
use crate::transport::TransportError;

/// OpenSSH's default identity files, in its order (security-key and DSA kinds left out).
const DEFAULT_IDENTITIES: &[&str] = &[".ssh/id_rsa", ".ssh/id_ecdsa", ".ssh/id_ed25519"];

pub(super) async fn authenticate(
    handle: &mut Handle<Client>,
    endpoint: &Endpoint,
    settings: &SshSettings,
) -> Result<(), TransportError> {
    let user = endpoint.user.as_str();
    let mut tried: Vec<String> = Vec::new();
    let mut offered: Vec<PublicKey> = Vec::new();
    let rsa_hash = handle
        .best_supported_rsa_hash()
        .await
        .ok()
        .flatten()
        .flatten();
    if let Some(sock) = &settings.agent {
        match AgentClient::connect_uds(sock).await {
            Ok(mut agent) => {
                let keys: Vec<PublicKey> = match agent.request_identities().await {
                    Ok(ids) => ids
                        .into_iter()
                        .filter_map(|id| match id {
                            AgentIdentity::PublicKey { key, .. } => Some(key),
                            AgentIdentity::Certificate { .. } => None,
                        })
                        .collect(),
                    Err(e) => {
                        tried.push(format!("agent (cannot list keys: {e})"));
                        Vec::new()
                    }
                };
                for key in keys {
                    let hash = if key.algorithm().is_rsa() {
                        rsa_hash
                    } else {
                        None
                    };
                    if let Ok(result) = handle
                        .authenticate_publickey_with(user, key.clone(), hash, &mut agent)
                        .await
                        && result.success()
                    {
                        return Ok(());
                    }
                    tried.push(format!(
                        "agent key {} (refused)",
                        super::known_hosts::fingerprint(&key)
                    ));
                    offered.push(key);
                }
            }
            Err(e) => tried.push(format!("agent at {} (unavailable: {e})", sock.display())),
        }
    }
    for path in identity_files(endpoint) {
        let explicit = !endpoint.identity_files.is_empty();
        let key = match load_key(&path, settings).await {
            Ok(Some(key)) => key,
            Ok(None) => {
                if explicit {
                    tried.push(format!("{} (missing)", path.display()));
                }
                continue;
            }
            Err(why) => {
                tried.push(format!("{} ({why})", path.display()));
                continue;
            }
        };
        if offered
            .iter()
            .any(|k| k.key_data() == key.public_key().key_data())
        {
            continue;
        }
        let hash = if key.algorithm().is_rsa() {
            rsa_hash
        } else {
            None
        };
        let result = handle
            .authenticate_publickey(user, PrivateKeyWithHashAlg::new(Arc::new(key), hash))
            .await
            .map_err(|e| TransportError::Lost {
                target: endpoint.label(),
                reason: e.to_string(),
                stdout: Vec::new(),
            })?;
        if result.success() {
            return Ok(());
        }
        tried.push(format!("{} (refused)", path.display()));
    }
    if tried.is_empty() {
        tried.push("no agent and no identity file".into());
    }
    Err(TransportError::Auth {
        target: endpoint.label(),
        tried: tried.join(", "),
        reason: format!("the server accepted no key for user {user}"),
    })
}

fn identity_files(endpoint: &Endpoint) -> Vec<PathBuf> {
    if !endpoint.identity_files.is_empty() {
        return endpoint.identity_files.clone();
    }
    let home = directories::BaseDirs::new()
        .map(|d| d.home_dir().to_path_buf())
        .unwrap_or_default();
    DEFAULT_IDENTITIES.iter().map(|f| home.join(f)).collect()
}

/// Loads a private key; `Ok(None)` when the file does not exist. An
/// encrypted key takes `RUNE_SSH_PASSPHRASE`, else a terminal prompt.
async fn load_key(path: &Path, settings: &SshSettings) -> Result<Option<PrivateKey>, String> {
    if !path.is_file() {
        return Ok(None);
    }
    match russh::keys::load_secret_key(path, None) {
        Ok(key) => return Ok(Some(key)),
        Err(russh::keys::Error::KeyIsEncrypted) => {}
        Err(e) => return Err(format!("unreadable: {e}")),
    }
    let passphrase = match &settings.passphrase {
        Some(p) => p.clone(),
        None if settings.prompt => {
            let prompt = format!("passphrase for {}: ", path.display());
            tokio::task::spawn_blocking(move || rpassword::prompt_password(prompt))
                .await
                .map_err(|e| e.to_string())?
                .map_err(|e| format!("encrypted, and the passphrase prompt failed: {e}"))?
        }
        None => return Err("encrypted; set RUNE_SSH_PASSPHRASE or add it to ssh-agent".into()),
    };
    russh::keys::load_secret_key(path, Some(&passphrase))
        .map(Some)
        .map_err(|_| "encrypted, and the passphrase did not open it".into())
}
