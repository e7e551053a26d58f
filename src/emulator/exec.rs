//! `aks-trustedaccess-emulator exec` and `env`: the environment that points a client at a
//! running emulator (this CLI, az, the Azure SDKs), az's config directory prepared so `az` signs
//! in to it, a child command run with its signals forwarded and its exit code passed on, and the
//! request log and final state written for a test to read (`--record DIR`).

use crate::emulator::identity::{EMULATOR_CLIENT_ID, EMULATOR_CLIENT_SECRET};
use crate::emulator::instance::Emulator;
use std::path::{Path, PathBuf};

/// The name `exec --az` registers the emulator's cloud under in az.
pub const AZ_CLOUD_NAME: &str = "AksTrustedAccessEmulator";

/// One running emulator as a client sees it.
#[derive(Debug, Clone)]
pub struct Session {
    pub url: String,
    /// The test CA's certificate (PEM) when serving TLS.
    pub ca_file: Option<PathBuf>,
    pub subscription: String,
    pub tenant: String,
    /// A token the emulator issued to the documented service principal.
    pub token: String,
    /// A token for Log Analytics' query API (`--workspace`), for the same service principal.
    pub log_analytics_token: String,
    /// The private az config directory (`AZURE_CONFIG_DIR`).
    pub config_dir: PathBuf,
}

impl Session {
    /// The variables a child gets, in a fixed order.
    pub fn env(&self) -> Vec<(&'static str, String)> {
        let mut vars = vec![
            ("AKS_TRUSTEDACCESS_ARM_ENDPOINT", self.url.clone()),
            ("AKS_TRUSTEDACCESS_ACCESS_TOKEN", self.token.clone()),
            (
                "AKS_TRUSTEDACCESS_LOGANALYTICS_ACCESS_TOKEN",
                self.log_analytics_token.clone(),
            ),
            ("AZURE_SUBSCRIPTION_ID", self.subscription.clone()),
            ("AZURE_TENANT_ID", self.tenant.clone()),
            ("AZURE_CLIENT_ID", EMULATOR_CLIENT_ID.to_string()),
            ("AZURE_CLIENT_SECRET", EMULATOR_CLIENT_SECRET.to_string()),
            (
                "AZURE_CONFIG_DIR",
                self.config_dir.to_string_lossy().into_owned(),
            ),
            // az's telemetry would try to reach the internet after every command.
            ("AZURE_CORE_COLLECT_TELEMETRY", "no".to_string()),
        ];
        if let Some(ca) = &self.ca_file {
            let ca = ca.to_string_lossy().into_owned();
            vars.push(("SSL_CERT_FILE", ca.clone()));
            vars.push(("REQUESTS_CA_BUNDLE", ca));
        }
        vars
    }

    /// `export NAME='value'` lines, for `eval` in a POSIX shell.
    pub fn export_lines(&self) -> String {
        self.env()
            .iter()
            .map(|(name, value)| format!("export {name}={}\n", shell_quote(value)))
            .collect()
    }
}

/// A value quoted for a POSIX shell: in single quotes, each `'` written as `'\''`.
pub fn shell_quote(value: &str) -> String {
    format!("'{}'", value.replace('\'', r"'\''"))
}

/// Prepares `session.config_dir` so that `az` talks to the emulator: the emulator registered as
/// az's current cloud (what `az cloud register --endpoint-resource-manager` writes after reading
/// `/metadata/endpoints`), MSAL's instance discovery off (it would ask login.microsoftonline.com
/// about a host it does not know), then `az login --service-principal` with the documented
/// credentials, which makes the first enabled subscription (the one exported) the default. Needs `az` on PATH.
pub async fn prepare_az(session: &Session) -> Result<(), String> {
    let az = which::which("az")
        .map_err(|_| "--az: 'az' is not on PATH (install the Azure CLI, or leave out --az)")?;
    let dir = &session.config_dir;
    let base = session.url.trim_end_matches('/');
    let clouds = format!(
        "[{AZ_CLOUD_NAME}]\n\
         endpoint_active_directory = {base}\n\
         endpoint_active_directory_graph_resource_id = https://graph.windows.net/\n\
         endpoint_active_directory_resource_id = https://management.core.windows.net/\n\
         endpoint_log_analytics_resource_id = {base}\n\
         endpoint_management = https://management.core.windows.net/\n\
         endpoint_microsoft_graph_resource_id = https://graph.microsoft.com/\n\
         endpoint_portal = {base}\n\
         endpoint_resource_manager = {base}/\n\
         suffix_storage_endpoint = core.windows.net\n\
         suffix_keyvault_dns = .vault.azure.net\n\
         suffix_acr_login_server_endpoint = .azurecr.io\n\
         suffix_sql_server_hostname = .database.windows.net\n"
    );
    let config = format!(
        "[cloud]\nname = {AZ_CLOUD_NAME}\n\n[core]\ninstance_discovery = false\ncollect_telemetry = no\nfirst_run = no\n"
    );
    write(&dir.join("clouds.config"), &clouds)?;
    write(&dir.join("config"), &config)?;
    let mut login = tokio::process::Command::new(az);
    login
        .args([
            "login",
            "--service-principal",
            "--username",
            EMULATOR_CLIENT_ID,
        ])
        .args([
            "--password",
            EMULATOR_CLIENT_SECRET,
            "--tenant",
            &session.tenant,
        ])
        .args(["--output", "none", "--only-show-errors"])
        .envs(session.env())
        .stdin(std::process::Stdio::null())
        .kill_on_drop(true);
    let out = login
        .output()
        .await
        .map_err(|e| format!("--az: cannot run az: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "--az: 'az login' against the emulator failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    Ok(())
}

/// Writes whole or not at all (a reader polling for the file never sees half of it).
fn write(path: &Path, text: &str) -> Result<(), String> {
    let partial = path.with_extension("partial");
    std::fs::write(&partial, text)
        .and_then(|()| std::fs::rename(&partial, path))
        .map_err(|e| format!("cannot write {}: {e}", path.display()))
}

/// Runs `command` with `env` added, forwarding INT, TERM, HUP and QUIT to it, and returns the
/// exit code to pass on: the child's, or 128 + n when signal n ended it; 127 when the command
/// is not found, 126 when it cannot be run (as shells answer).
pub async fn run_child(command: &[String], env: &[(&'static str, String)]) -> i32 {
    let Some((program, args)) = command.split_first() else {
        return 2;
    };
    // Caught from before the child exists, so a signal sent once it runs is never the default
    // action on this process (which would end it and leave the child running).
    let signals = match Forwarded::catch() {
        Ok(signals) => signals,
        Err(e) => {
            crate::diagnostics::write_stderr(&format!("ERROR: cannot catch signals: {e}\n"));
            return 1;
        }
    };
    let mut child = match tokio::process::Command::new(program)
        .args(args)
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .spawn()
    {
        Ok(child) => child,
        Err(e) => {
            crate::diagnostics::write_stderr(&format!("ERROR: cannot run '{program}': {e}\n"));
            return if e.kind() == std::io::ErrorKind::NotFound {
                127
            } else {
                126
            };
        }
    };
    let status = signals.wait(&mut child).await;
    match status {
        Ok(status) => exit_code_of(status),
        Err(e) => {
            crate::diagnostics::write_stderr(&format!("ERROR: waiting for '{program}': {e}\n"));
            1
        }
    }
}

/// The signals `exec` passes on to its child (and that stop `env`), caught from when it is made.
#[cfg(unix)]
pub struct Forwarded([(tokio::signal::unix::Signal, rustix::process::Signal); 4]);

#[cfg(unix)]
impl Forwarded {
    pub fn catch() -> std::io::Result<Self> {
        use rustix::process::Signal;
        use tokio::signal::unix::{SignalKind, signal};
        Ok(Forwarded([
            (signal(SignalKind::interrupt())?, Signal::INT),
            (signal(SignalKind::terminate())?, Signal::TERM),
            (signal(SignalKind::hangup())?, Signal::HUP),
            (signal(SignalKind::quit())?, Signal::QUIT),
        ]))
    }

    /// Waits for the first caught signal (`env`, stopped by a signal).
    pub async fn first(mut self) {
        let [(int, _), (term, _), (hup, _), (quit, _)] = &mut self.0;
        tokio::select! {
            _ = int.recv() => {}
            _ = term.recv() => {}
            _ = hup.recv() => {}
            _ = quit.recv() => {}
        }
    }

    /// Waits for the child, passing each caught signal on to it.
    async fn wait(
        mut self,
        child: &mut tokio::process::Child,
    ) -> std::io::Result<std::process::ExitStatus> {
        let pid = child
            .id()
            .and_then(|id| rustix::process::Pid::from_raw(id as i32));
        loop {
            let [(int, _), (term, _), (hup, _), (quit, _)] = &mut self.0;
            let index = tokio::select! {
                status = child.wait() => return status,
                _ = int.recv() => 0,
                _ = term.recv() => 1,
                _ = hup.recv() => 2,
                _ = quit.recv() => 3,
            };
            if let Some(pid) = pid {
                let _ = rustix::process::kill_process(pid, self.0[index].1);
            }
        }
    }
}

/// Elsewhere Ctrl-C reaches every process of the console: wait for the child to end.
#[cfg(not(unix))]
pub struct Forwarded;

#[cfg(not(unix))]
impl Forwarded {
    pub fn catch() -> std::io::Result<Self> {
        Ok(Forwarded)
    }

    pub async fn first(self) {
        let _ = tokio::signal::ctrl_c().await;
    }

    async fn wait(
        self,
        child: &mut tokio::process::Child,
    ) -> std::io::Result<std::process::ExitStatus> {
        loop {
            tokio::select! {
                status = child.wait() => return status,
                _ = tokio::signal::ctrl_c() => {}
            }
        }
    }
}

/// The code to exit with for a child's end: its code, or 128 + the signal that ended it.
pub fn exit_code_of(status: std::process::ExitStatus) -> i32 {
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        if let Some(signal) = status.signal() {
            return 128 + signal;
        }
    }
    status.code().unwrap_or(1)
}

/// Points stdout at the null device, so a shell reading it (`eval "$(… env &)"`) sees its end
/// while this process goes on serving.
pub fn detach_stdout() {
    #[cfg(unix)]
    if let Ok(null) = std::fs::OpenOptions::new().write(true).open("/dev/null") {
        let _ = rustix::stdio::dup2_stdout(&null);
    }
}

/// `--record DIR`: the request log (`requests.json`, as `GET /_emulator/requests` gives it),
/// the final world (`state.json`, a state file `--state` starts from) and, for a fleet made
/// with `--fleet-services`, the generator's expectations (`expectations.json`).
pub fn write_record(dir: &Path, emulator: &Emulator) -> Result<(), String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot make {}: {e}", dir.display()))?;
    let pretty = |v: serde_json::Value| serde_json::to_string_pretty(&v).unwrap_or_default() + "\n";
    write(
        &dir.join("requests.json"),
        &pretty(emulator.requests_json()),
    )?;
    if let Some(expected) = emulator.expectations_json() {
        write(&dir.join("expectations.json"), &pretty(expected))?;
    }
    write(&dir.join("state.json"), &pretty(emulator.state_json()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_quoted_for_a_posix_shell() {
        assert_eq!(shell_quote("https://127.0.0.1:1"), "'https://127.0.0.1:1'");
        assert_eq!(shell_quote("it's"), r"'it'\''s'");
        assert_eq!(shell_quote(""), "''");
    }

    #[test]
    fn the_environment_trusts_the_ca_only_over_tls() {
        let mut session = Session {
            url: "https://127.0.0.1:1".into(),
            ca_file: Some("/tmp/ca.pem".into()),
            subscription: "s".into(),
            tenant: "t".into(),
            token: "x".into(),
            log_analytics_token: "y".into(),
            config_dir: "/tmp/az".into(),
        };
        let names = |s: &Session| s.env().iter().map(|(k, _)| *k).collect::<Vec<_>>();
        assert!(names(&session).contains(&"REQUESTS_CA_BUNDLE"));
        session.ca_file = None;
        assert!(!names(&session).contains(&"SSL_CERT_FILE"));
        assert!(
            session
                .export_lines()
                .starts_with("export AKS_TRUSTEDACCESS_ARM_ENDPOINT='https://127.0.0.1:1'\n")
        );
    }
}
