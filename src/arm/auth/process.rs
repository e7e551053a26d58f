//! Runs `az`/`azd` for azure_identity in a process group of its own, so that when the token
//! request times out (or the tool is interrupted) the whole tree (`az` is a shell script that
//! starts Python) is killed, never left running.

use azure_identity::Executor;
use std::ffi::OsStr;
use std::io;
use std::process::{Output, Stdio};

#[derive(Debug, Default)]
pub struct GroupExecutor;

/// Kills the child's process group unless the child finished.
struct GroupGuard {
    #[cfg_attr(
        not(unix),
        expect(dead_code, reason = "process groups are a unix idea")
    )]
    pid: Option<u32>,
    finished: bool,
}

impl Drop for GroupGuard {
    fn drop(&mut self) {
        #[cfg(unix)]
        if !self.finished
            && let Some(pid) = self
                .pid
                .and_then(|p| i32::try_from(p).ok())
                .and_then(rustix::process::Pid::from_raw)
        {
            let _ = rustix::process::kill_process_group(pid, rustix::process::Signal::KILL);
        }
    }
}

#[async_trait::async_trait]
impl Executor for GroupExecutor {
    async fn run(&self, program: &OsStr, args: &[&OsStr]) -> io::Result<Output> {
        let mut command = tokio::process::Command::new(program);
        command
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        #[cfg(unix)]
        command.process_group(0);
        let child = command.spawn()?;
        let mut guard = GroupGuard {
            pid: child.id(),
            finished: false,
        };
        let output = child.wait_with_output().await?;
        guard.finished = true;
        Ok(output)
    }
}
