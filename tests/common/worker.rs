//! A `peercode worker` of the test's own (`--runner queue`), that a test can SIGKILL.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

/// A `peercode worker` process, SIGKILLed when dropped.
pub struct Worker {
    child: Option<Child>,
    /// Its name, as written into the runs it starts.
    pub name: String,
}

impl Worker {
    pub fn spawn(redis: &str, concurrency: usize) -> Worker {
        Worker::spawn_with(redis, concurrency, &[])
    }

    pub fn spawn_with(redis: &str, concurrency: usize, extra: &[&str]) -> Worker {
        let mut child = Command::new(env!("CARGO_BIN_EXE_peercode"))
            .args(["worker", "--redis-url", redis, "--concurrency"])
            .arg(concurrency.to_string())
            .args(extra)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start peercode worker");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut line)
            .expect("the worker's ready line");
        let name = line
            .strip_prefix("peercode worker ")
            .and_then(|rest| rest.split_whitespace().next())
            .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
            .to_owned();
        Worker {
            child: Some(child),
            name,
        }
    }

    pub fn pid(&self) -> nix::unistd::Pid {
        nix::unistd::Pid::from_raw(self.child.as_ref().expect("running").id() as i32)
    }

    /// Wait for the worker to exit by itself (after a SIGTERM); its exit status.
    pub fn wait(&mut self) -> std::process::ExitStatus {
        self.child
            .take()
            .expect("running")
            .wait()
            .expect("the worker exits")
    }

    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    pub fn is_running(&mut self) -> bool {
        self.child
            .as_mut()
            .is_some_and(|c| matches!(c.try_wait(), Ok(None)))
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        self.kill();
    }
}
