//! The operator's side of the farm: a home that trusts it, the login user,
//! the minimal plugin's catalog, parallel-ssh and `rune` command lines, and
//! the relayed route through the delay relays.

use std::fs;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

use rune::inventory::Inventory;
use rune::transport::ssh::SshSettings;

use crate::cpu::FarmCpu;
use crate::relay;
use crate::sshd::{FarmOptions, SshdFarm};
use crate::{root, rune_in};

/// The dedicated login user with /bin/sh as its shell.
pub const BENCH_USER: &str = "rune-bench";

/// `rune-bench` with shell /bin/sh, created when missing; `None` (the
/// current user) when this process cannot create users.
pub fn bench_user() -> Option<String> {
    let exists = Command::new("id")
        .arg("-u")
        .arg(BENCH_USER)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !exists {
        let created = Command::new("useradd")
            .args([
                "--system",
                "--create-home",
                "--home-dir",
                "/var/lib/rune-bench",
            ])
            .args(["--shell", "/bin/sh", BENCH_USER])
            .status()
            .is_ok_and(|s| s.success());
        if !created {
            eprintln!(
                "fanout: cannot create {BENCH_USER} (not root?): logging in as the current user"
            );
            return None;
        }
        // useradd leaves the password "!", a locked account, which sshd
        // refuses even with a key when PAM is off; "*" is no password, unlocked.
        let _ = Command::new("usermod")
            .args(["-p", "*", BENCH_USER])
            .status();
    }
    let shell = fs::read_to_string("/etc/passwd")
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with(&format!("{BENCH_USER}:")))
        .and_then(|l| l.rsplit(':').next().map(str::to_owned));
    eprintln!(
        "fanout: login user {BENCH_USER}, shell {}",
        shell.as_deref().unwrap_or("?")
    );
    Some(BENCH_USER.to_owned())
}

/// An operator home trusting the farm, as tests/e2e/ssh/mod.rs builds it.
pub struct Bench {
    pub farm: SshdFarm,
    pub farm_cpu: FarmCpu,
    pub home: tempfile::TempDir,
    pub inventory_path: PathBuf,
    pub hosts_path: PathBuf,
    pub inventory: Inventory,
}

impl Bench {
    pub fn start(hosts: usize) -> Self {
        let farm = SshdFarm::start(FarmOptions {
            hosts,
            base_octet: 1,
            max_startups: (hosts as u32 * 2).max(500),
            user: bench_user(),
            ..FarmOptions::default()
        });
        let farm_cpu = FarmCpu::new(&farm);
        let home = tempfile::tempdir().unwrap();
        let ssh = home.path().join(".ssh");
        fs::create_dir_all(&ssh).unwrap();
        fs::copy(farm.known_hosts(), ssh.join("known_hosts")).unwrap();
        fs::write(
            ssh.join("config"),
            format!("Host *\n    IdentityFile {}\n", farm.client_key().display()),
        )
        .unwrap();
        let inventory_path = home.path().join("inventory.toml");
        fs::write(&inventory_path, farm.inventory_toml()).unwrap();
        let hosts_path = home.path().join("pssh-hosts");
        let lines: String = farm
            .hosts()
            .iter()
            .map(|h| format!("{}:{}\n", h.addr, h.port))
            .collect();
        fs::write(&hosts_path, lines).unwrap();
        let inventory = Inventory::parse(&farm.inventory_toml(), &inventory_path).unwrap();
        write_minimal_catalog(&home.path().join("catalog"));
        Bench {
            farm,
            farm_cpu,
            home,
            inventory_path,
            hosts_path,
            inventory,
        }
    }

    pub fn settings(&self) -> SshSettings {
        let ssh = self.home.path().join(".ssh");
        SshSettings {
            known_hosts: vec![
                ssh.join("known_hosts"),
                self.home.path().join("rune_known_hosts"),
            ],
            rune_known_hosts: self.home.path().join("rune_known_hosts"),
            accept_new_host_keys: false,
            config_path: Some(ssh.join("config")),
            connect_timeout: Duration::from_secs(10),
            banner_timeout: rune::transport::ssh::BANNER_TIMEOUT,
            idle_expiry: Duration::from_secs(300),
            agent: None,
            passphrase: None,
            prompt: false,
            default_user: self.farm.user(),
        }
    }

    pub fn pssh(&self, n: usize, kex: Option<&str>) -> Command {
        self.pssh_to(n, kex, &self.hosts_path, &self.farm.known_hosts())
    }

    pub fn pssh_to(
        &self,
        n: usize,
        kex: Option<&str>,
        hosts: &std::path::Path,
        known_hosts: &std::path::Path,
    ) -> Command {
        let mut extra = format!(
            "-F /dev/null -i {} -o IdentitiesOnly=yes -o UserKnownHostsFile={} \
             -o StrictHostKeyChecking=yes -o BatchMode=yes",
            self.farm.client_key().display(),
            known_hosts.display()
        );
        if let Some(kex) = kex {
            extra += &format!(" -o KexAlgorithms={kex}");
        }
        let mut cmd = Command::new("parallel-ssh");
        cmd.arg("-p")
            .arg(n.to_string())
            .arg("-t")
            .arg("120")
            .arg("-h")
            .arg(hosts)
            .arg("-l")
            .arg(self.farm.user())
            .arg("-x")
            .arg(extra)
            .arg("true");
        cmd
    }

    /// A delay relay per host (`relay.rs`), and the inventory, known_hosts
    /// and parallel-ssh host list that go through them.
    pub fn relayed(&self, rt: &tokio::runtime::Runtime, rtt: Duration) -> Route {
        let home = self.home.path();
        let key = self.farm.host_public_key();
        let user = self.farm.user();
        let (mut inventory, mut known, mut hosts) = (String::new(), String::new(), String::new());
        for h in self.farm.hosts() {
            let port = relay::start(rt, std::net::SocketAddr::from((h.addr, h.port)), rtt);
            inventory += &format!(
                "[[targets]]\nname = \"{}\"\ntransport = \"ssh\"\nhost = \"127.0.0.1\"\nport = {port}\nuser = \"{user}\"\n\n",
                h.name
            );
            known += &format!("[127.0.0.1]:{port} {key}\n");
            hosts += &format!("127.0.0.1:{port}\n");
        }
        fs::write(home.join("known_hosts_rtt"), known).unwrap();
        fs::write(home.join("pssh-hosts-rtt"), hosts).unwrap();
        let mut settings = self.settings();
        settings.known_hosts = vec![home.join("known_hosts_rtt")];
        Route {
            inventory: Inventory::parse(&inventory, &home.join("inventory-rtt.toml")).unwrap(),
            settings,
            label: format!(" (RTT {} ms)", rtt.as_millis()),
        }
    }

    /// The catalog that holds `action`: the bundled one, or the bench's own
    /// for the minimal plugin.
    pub fn catalog_dir(&self, action: &str) -> PathBuf {
        if action == MINIMAL {
            self.home.path().join("catalog")
        } else {
            root().join("actions")
        }
    }

    pub fn rune(&self, n: usize, target: &str, action: &str) -> Command {
        let home = self.home.path();
        let mut cmd = rune_in(home);
        cmd.arg("run")
            .arg(action)
            .arg("--catalog")
            .arg(self.catalog_dir(action))
            .arg("--inventory")
            .arg(&self.inventory_path)
            .arg("--journal")
            .arg(home.join("journal.db"))
            .arg("-t")
            .arg(target)
            .arg("--concurrency")
            .arg(n.to_string())
            .arg("-o")
            .arg("json")
            .arg("-y");
        cmd
    }
}

/// The cheapest plugin that keeps the contract: POSIX sh, no SDK, no fork.
/// It reads the one-line envelope with the shell's `read`, echoes its ids
/// and reports success: rune's round trip with it against parallel-ssh
/// running `true` compares transports, not plugin languages.
pub const MINIMAL: &str = "minimal";
pub const MINIMAL_PLUGIN: &str = r#"#!/bin/sh
IFS= read -r e || :
id() { v=${e#*\"$1\":\"}; [ "$v" = "$e" ] && v= || v=${v%%\"*}; }
id message_id; m=$v; id correlation_id; c=$v; id trace_id; t=$v; id span_id; s=$v
printf '{"message_metadata":{"version":"1.0","message_id":"%s","correlation_id":"%s"},"payload":{"result":"success","output_data":{}},"observability":{"trace_id":"%s","span_id":"%s"},"error":null}' "$m" "$c" "$t" "$s"
"#;

pub fn write_minimal_catalog(dir: &std::path::Path) {
    use std::os::unix::fs::PermissionsExt;
    let action = dir.join(MINIMAL);
    fs::create_dir_all(&action).unwrap();
    fs::write(
        action.join("action.toml"),
        "name = \"minimal\"\ntitle = \"Minimal\"\n\
         description = \"The cheapest valid plugin: POSIX sh, no SDK (fan-out benchmark)\"\n\
         version = \"1.0.0\"\nowner = \"bench\"\nrisk = \"read\"\ntimeout = \"30s\"\n\
         entry = \"run.sh\"\ntransports = [\"ssh\"]\n",
    )
    .unwrap();
    let run = action.join("run.sh");
    fs::write(&run, MINIMAL_PLUGIN).unwrap();
    fs::set_permissions(&run, fs::Permissions::from_mode(0o755)).unwrap();
}

/// How the in-process engine reaches the farm: directly, or through the
/// delay relays.
pub struct Route {
    pub inventory: Inventory,
    pub settings: SshSettings,
    /// Appended to row names: "" or " (RTT 20 ms)".
    pub label: String,
}
