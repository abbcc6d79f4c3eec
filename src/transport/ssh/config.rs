//! Resolving a target to an SSH endpoint: its address fields first, then the
//! operator's `~/.ssh/config` (Host patterns, HostName, User, Port,
//! IdentityFile, ProxyJump, ConnectTimeout, ServerAliveInterval,
//! KexAlgorithms), then OpenSSH's defaults.

use std::path::{Path, PathBuf};
use std::time::Duration;

use ssh2_config::{ParseRule, SshConfig};

use super::SshAddress;

/// Jump hosts chained per target; deeper chains are almost surely a loop.
const MAX_JUMPS: usize = 8;

/// Where and how to connect to one host.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Endpoint {
    /// The name to connect to and to look up in known_hosts (after HostName).
    pub host: String,
    pub port: u16,
    pub user: String,
    /// IdentityFile entries, in order; empty means OpenSSH's default files.
    pub identity_files: Vec<PathBuf>,
    /// Hosts to pass through first, outermost first.
    pub jumps: Vec<Endpoint>,
    pub connect_timeout: Option<Duration>,
    pub alive_interval: Option<Duration>,
    /// KexAlgorithms when the config overrides them.
    pub kex: Option<Vec<String>>,
}

impl Endpoint {
    /// `user@host:port`, with the jump chain: the pool's key and the label in errors.
    pub fn label(&self) -> String {
        let mut label = format!("{}@{}:{}", self.user, self.host, self.port);
        for jump in self.jumps.iter().rev() {
            label = format!("{label} via {}", jump.label());
        }
        label
    }
}

/// The operator's ssh_config, or none.
#[derive(Debug, Default)]
pub struct Config {
    parsed: Option<SshConfig>,
    /// Problems worth telling the operator once (e.g. `Match` blocks).
    pub warnings: Vec<String>,
}

impl Config {
    /// Reads `path` (default `~/.ssh/config`); a missing file is an empty config.
    pub fn load(path: Option<&Path>) -> Result<Self, String> {
        let path = match path {
            Some(p) => p.to_path_buf(),
            None => match directories::BaseDirs::new() {
                Some(dirs) => dirs.home_dir().join(".ssh/config"),
                None => return Ok(Self::default()),
            },
        };
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Self::default()),
            Err(e) => return Err(format!("{}: {e}", path.display())),
        };
        let mut warnings = Vec::new();
        if text
            .lines()
            .any(|l| l.trim_start().to_ascii_lowercase().starts_with("match "))
        {
            // ssh2-config applies a Match block's lines to the Host block before it.
            warnings.push(format!(
                "{}: `Match` blocks are not supported and may apply to the wrong hosts",
                path.display()
            ));
        }
        let rules = ParseRule::ALLOW_UNKNOWN_FIELDS | ParseRule::ALLOW_UNSUPPORTED_FIELDS;
        let parsed = SshConfig::default()
            .parse(&mut text.as_bytes(), rules)
            .map_err(|e| format!("{}: {e}", path.display()))?;
        Ok(Self {
            parsed: Some(parsed),
            warnings,
        })
    }

    /// The endpoint for the target `name` at `address`: the address's
    /// fields (from the inventory) override the config.
    pub fn resolve(
        &self,
        name: &str,
        address: &SshAddress,
        default_user: &str,
    ) -> Result<Endpoint, String> {
        let alias = address.alias(name);
        let mut endpoint = self.resolve_alias(
            alias,
            address.user.as_deref(),
            address.port,
            default_user,
            0,
        )?;
        if let Some(port) = address.port {
            endpoint.port = port;
        }
        Ok(endpoint)
    }

    fn resolve_alias(
        &self,
        alias: &str,
        user: Option<&str>,
        port: Option<u16>,
        default_user: &str,
        depth: usize,
    ) -> Result<Endpoint, String> {
        if depth > MAX_JUMPS {
            return Err(format!(
                "ProxyJump chain for {alias} is longer than {MAX_JUMPS} hops (a loop?)"
            ));
        }
        let params = self.parsed.as_ref().map(|c| c.query(alias));
        let params = params.as_ref();
        let host = params
            .and_then(|p| p.host_name.clone())
            .unwrap_or_else(|| alias.to_owned());
        let user = user
            .map(str::to_owned)
            .or_else(|| params.and_then(|p| p.user.clone()))
            .unwrap_or_else(|| default_user.to_owned());
        let port = port.or_else(|| params.and_then(|p| p.port)).unwrap_or(22);
        let mut jumps = Vec::new();
        for spec in params
            .and_then(|p| p.proxy_jump.clone())
            .unwrap_or_default()
        {
            if spec.eq_ignore_ascii_case("none") {
                break;
            }
            let (jump_user, jump_host, jump_port) = parse_jump(&spec)?;
            let mut jump = self.resolve_alias(
                &jump_host,
                jump_user.as_deref(),
                jump_port,
                default_user,
                depth + 1,
            )?;
            // A jump host's own jumps come before it.
            let inner = std::mem::take(&mut jump.jumps);
            jumps.extend(inner);
            jumps.push(jump);
        }
        let kex = params
            .filter(|p| !p.kex_algorithms.is_default())
            .map(|p| p.kex_algorithms.algorithms().to_vec());
        Ok(Endpoint {
            host,
            port,
            user,
            identity_files: params
                .and_then(|p| p.identity_file.clone())
                .unwrap_or_default(),
            jumps,
            connect_timeout: params.and_then(|p| p.connect_timeout),
            alive_interval: params.and_then(|p| p.server_alive_interval),
            kex,
        })
    }
}

/// Parses one ProxyJump hop: `[user@]host[:port]`, IPv6 in brackets.
fn parse_jump(spec: &str) -> Result<(Option<String>, String, Option<u16>), String> {
    let spec = spec.trim().trim_start_matches("ssh://");
    let (user, rest) = match spec.rsplit_once('@') {
        Some((u, r)) => (Some(u.to_owned()), r),
        None => (None, spec),
    };
    let (host, port) = if let Some(inner) = rest.strip_prefix('[') {
        let (host, after) = inner
            .split_once(']')
            .ok_or_else(|| format!("bad ProxyJump host {spec:?}"))?;
        (host.to_owned(), after.strip_prefix(':'))
    } else {
        match rest.rsplit_once(':') {
            Some((h, p)) => (h.to_owned(), Some(p)),
            None => (rest.to_owned(), None),
        }
    };
    let port = port
        .map(|p| {
            p.parse::<u16>()
                .map_err(|_| format!("bad ProxyJump port in {spec:?}"))
        })
        .transpose()?;
    if host.is_empty() {
        return Err(format!("bad ProxyJump host {spec:?}"));
    }
    Ok((user, host, port))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(text: &str) -> Config {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config");
        std::fs::write(&path, text).unwrap();
        Config::load(Some(&path)).unwrap()
    }

    const TEXT: &str = "
Host web-*
    HostName 10.0.1.11
    User ops
    Port 2222
    IdentityFile ~/.ssh/web_ed25519
    ConnectTimeout 7
    ServerAliveInterval 15
    ProxyJump bastion

Host bastion
    HostName bastion.example.com
    User jump
    ProxyJump admin@outer:2200

Host *
    KexAlgorithms curve25519-sha256
";

    #[test]
    fn config_fills_what_the_inventory_leaves_out() {
        let c = config(TEXT);
        let e = c.resolve("web-1", &SshAddress::default(), "me").unwrap();
        assert_eq!(
            (e.host.as_str(), e.port, e.user.as_str()),
            ("10.0.1.11", 2222, "ops")
        );
        assert_eq!(e.connect_timeout, Some(Duration::from_secs(7)));
        assert_eq!(e.alive_interval, Some(Duration::from_secs(15)));
        assert!(e.identity_files[0].ends_with(".ssh/web_ed25519"));
        assert_eq!(
            e.kex.as_deref(),
            Some(&["curve25519-sha256".to_string()][..])
        );
        let hops: Vec<String> = e.jumps.iter().map(Endpoint::label).collect();
        assert_eq!(hops, ["admin@outer:2200", "jump@bastion.example.com:22"]);
    }

    #[test]
    fn inventory_fields_override_the_config() {
        let c = config(TEXT);
        let address = SshAddress {
            user: Some("root".into()),
            port: Some(22),
            ..SshAddress::default()
        };
        let e = c.resolve("web-1", &address, "me").unwrap();
        assert_eq!((e.user.as_str(), e.port), ("root", 22));
    }

    #[test]
    fn without_a_config_openssh_defaults_apply() {
        let e = Config::default()
            .resolve("db-1", &SshAddress::default(), "me")
            .unwrap();
        assert_eq!(e.label(), "me@db-1:22");
        assert!(e.jumps.is_empty() && e.identity_files.is_empty() && e.kex.is_none());
    }

    #[test]
    fn match_blocks_are_warned_about() {
        let c = config("Host a\n  User x\nMatch host b\n  User y\n");
        assert!(c.warnings[0].contains("Match"));
    }

    #[test]
    fn jump_specs_parse() {
        assert_eq!(
            parse_jump("u@h:22").unwrap(),
            (Some("u".into()), "h".into(), Some(22))
        );
        assert_eq!(
            parse_jump("[::1]:2200").unwrap(),
            (None, "::1".into(), Some(2200))
        );
        assert!(parse_jump("h:port").is_err());
    }
}
