//! The servers under test: started fresh for every scenario on a free loopback port, watched
//! through `/proc` for CPU time and memory, killed at the end.

use std::fs::File;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

/// Which server, and how to start it.
#[derive(Clone, Debug)]
pub enum Kind {
    /// `peercode serve`; WebSocket route `/ws/{room}`.
    PeerCode { bin: PathBuf },
    /// `node .../y-websocket/bin/server.cjs` (y-websocket 2.x); route `/{room}`.
    Reference { script: PathBuf },
    /// `peercode-bench floor-server` (this binary): the no-document relay of `floor.rs`;
    /// route `/ws/{room}`.
    Floor { bin: PathBuf },
}

impl Kind {
    pub fn label(&self) -> &'static str {
        match self {
            Kind::PeerCode { .. } => crate::report::PEERCODE,
            Kind::Reference { .. } => "y-websocket 2 (Node)",
            Kind::Floor { .. } => crate::report::FLOOR,
        }
    }

    /// Whether the server keeps a document (the floor does not: it has nothing to sync
    /// and nothing to check a final text against).
    pub fn has_document(&self) -> bool {
        !matches!(self, Kind::Floor { .. })
    }
}

/// A running server process.
pub struct Server {
    child: Child,
    /// `ws://127.0.0.1:PORT/ws` or `ws://127.0.0.1:PORT`: append `/{room}`.
    pub ws_base: String,
    // Held so the data dir lives as long as the process.
    _data: tempfile::TempDir,
}

impl Server {
    /// Starts `kind` on a free port and waits until it answers `/healthz`. With
    /// `autogroup_nice`, the server's session gets that scheduling weight once it is up
    /// (see [`set_autogroup_nice`]).
    pub fn start(
        kind: &Kind,
        log_dir: &Path,
        tag: &str,
        autogroup_nice: Option<i32>,
    ) -> Result<Server> {
        Server::start_with_env(kind, log_dir, tag, autogroup_nice, &[])
    }

    /// [`Server::start`] with more environment variables (PeerCode reads a `PEERCODE_*`
    /// variable for every flag).
    pub fn start_with_env(
        kind: &Kind,
        log_dir: &Path,
        tag: &str,
        autogroup_nice: Option<i32>,
        env: &[(&str, String)],
    ) -> Result<Server> {
        let port = free_port()?;
        let data = tempfile::Builder::new()
            .prefix("peercode-bench-")
            .tempdir()
            .context("while creating a data dir")?;
        let log = File::create(log_dir.join(format!("{tag}.log")))
            .with_context(|| format!("while creating the log for {tag}"))?;
        let mut cmd = match kind {
            Kind::PeerCode { bin } => {
                let mut c = own_session(bin.as_os_str());
                c.arg("serve")
                    .arg("--listen")
                    .arg(format!("127.0.0.1:{port}"))
                    .arg("--data-dir")
                    .arg(data.path())
                    .env(
                        "RUST_LOG",
                        std::env::var("RUST_LOG").unwrap_or("warn".into()),
                    )
                    // The load comes from one address, a thousand connections at once and
                    // trace writers far faster than any typist: the per-address and
                    // per-connection abuse limits are off, as for the reference server.
                    .env("PEERCODE_WS_CONNECTIONS_PER_IP_PER_SECOND", "0")
                    .env("PEERCODE_WS_MESSAGES_PER_SECOND", "0");
                c
            }
            Kind::Reference { script } => {
                let mut c = own_session("node".as_ref());
                c.arg(script)
                    .env("HOST", "127.0.0.1")
                    .env("PORT", port.to_string());
                c
            }
            Kind::Floor { bin } => {
                let mut c = own_session(bin.as_os_str());
                c.arg("floor-server")
                    .arg("--listen")
                    .arg(format!("127.0.0.1:{port}"));
                c
            }
        };
        cmd.envs(env.iter().map(|(k, v)| (k, v)));
        cmd.stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log);
        let child = cmd
            .spawn()
            .with_context(|| format!("while starting {}", kind.label()))?;
        let ws_base = match kind {
            Kind::PeerCode { .. } | Kind::Floor { .. } => format!("ws://127.0.0.1:{port}/ws"),
            Kind::Reference { .. } => format!("ws://127.0.0.1:{port}"),
        };
        let mut server = Server {
            child,
            ws_base,
            _data: data,
        };
        server.wait_healthy(port)?;
        if let Some(nice) = autogroup_nice {
            set_autogroup_nice(&format!("/proc/{}", server.pid()), nice)?;
        }
        Ok(server)
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    fn wait_healthy(&mut self, port: u16) -> Result<()> {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(status) = self.child.try_wait()? {
                bail!("server exited during start-up: {status}");
            }
            if healthz(port) {
                return Ok(());
            }
            if Instant::now() > deadline {
                bail!("server not healthy on port {port} within 20 s");
            }
            std::thread::sleep(Duration::from_millis(25));
        }
    }

    pub fn usage(&self) -> Result<Usage> {
        Usage::of(self.pid())
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A command that runs `program` in a session of its own (through `setsid`, which execs in
/// place, so the child's pid is the server's). With the kernel's autogroup scheduling, CPU is
/// shared out per session: in its own session the server gets its own share, as a deployed
/// server would, instead of splitting the load generator's.
fn own_session(program: &std::ffi::OsStr) -> Command {
    if Path::new("/usr/bin/setsid").exists() {
        let mut c = Command::new("/usr/bin/setsid");
        c.arg(program);
        c
    } else {
        Command::new(program)
    }
}

/// Sets the scheduling weight of a process's session (its autogroup; `dir` is
/// `/proc/PID` or `/proc/self`). With the kernel's autogroup scheduling the machine's CPU is
/// shared out per session, so on a machine shared with other people's builds this is what
/// keeps the load generator and the server from waiting behind them; both get the same
/// value. A negative value needs root.
pub fn set_autogroup_nice(dir: &str, nice: i32) -> Result<()> {
    let path = format!("{dir}/autogroup");
    std::fs::write(&path, nice.to_string())
        .with_context(|| format!("while writing {nice} to {path}"))
}

pub(crate) fn free_port() -> Result<u16> {
    let l = TcpListener::bind("127.0.0.1:0").context("while finding a free port")?;
    Ok(l.local_addr()?.port())
}

fn healthz(port: u16) -> bool {
    let Ok(mut s) = TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
    if s.write_all(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        .is_err()
    {
        return false;
    }
    let mut head = [0u8; 12];
    s.read_exact(&mut head).is_ok() && head.starts_with(b"HTTP/1.") && &head[9..12] == b"200"
}

/// A process's CPU time and memory, read from `/proc`.
#[derive(Clone, Copy, Debug, Default)]
pub struct Usage {
    /// utime + stime, in clock ticks (USER_HZ, 100 per second on Linux).
    pub cpu_ticks: u64,
    pub rss_kib: u64,
    pub hwm_kib: u64,
}

/// USER_HZ: the unit of `/proc/PID/stat` times, fixed at 100 in the Linux ABI.
const TICKS_PER_SEC: f64 = 100.0;

impl Usage {
    pub fn of(pid: u32) -> Result<Usage> {
        Self::read(&format!("/proc/{pid}"))
    }

    pub fn of_self() -> Result<Usage> {
        Self::read("/proc/self")
    }

    fn read(dir: &str) -> Result<Usage> {
        let stat = std::fs::read_to_string(format!("{dir}/stat"))
            .with_context(|| format!("while reading {dir}/stat"))?;
        let after = stat
            .rsplit_once(')')
            .map(|(_, rest)| rest)
            .context("malformed stat")?;
        let fields: Vec<&str> = after.split_whitespace().collect();
        // After the command name: field 3 (state) is index 0, so utime (14) is 11, stime (15) 12.
        let tick = |i: usize| -> Result<u64> {
            fields
                .get(i)
                .context("short stat")?
                .parse::<u64>()
                .context("stat field")
        };
        let cpu_ticks = tick(11)? + tick(12)?;
        let status = std::fs::read_to_string(format!("{dir}/status"))
            .with_context(|| format!("while reading {dir}/status"))?;
        let kib = |key: &str| -> u64 {
            status
                .lines()
                .find_map(|l| l.strip_prefix(key))
                .and_then(|v| v.split_whitespace().next())
                .and_then(|v| v.parse().ok())
                .unwrap_or(0)
        };
        Ok(Usage {
            cpu_ticks,
            rss_kib: kib("VmRSS:"),
            hwm_kib: kib("VmHWM:"),
        })
    }

    /// CPU use between two readings as a percentage of one core.
    pub fn cpu_percent(before: Usage, after: Usage, wall: Duration) -> f64 {
        let secs = after.cpu_ticks.saturating_sub(before.cpu_ticks) as f64 / TICKS_PER_SEC;
        100.0 * secs / wall.as_secs_f64().max(1e-9)
    }
}

/// Busy CPU time of the whole machine so far, in clock ticks (from `/proc/stat`): used to tell
/// how much of the machine other processes took during a measurement.
pub fn machine_busy_ticks() -> Result<u64> {
    let stat = std::fs::read_to_string("/proc/stat").context("while reading /proc/stat")?;
    let line = stat.lines().next().context("empty /proc/stat")?;
    let v: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .filter_map(|x| x.parse().ok())
        .collect();
    // user nice system idle iowait irq softirq steal (guest time is inside user)
    Ok([0, 1, 2, 5, 6, 7].iter().filter_map(|&i| v.get(i)).sum())
}

/// CPU readings at one moment: the server's, the load generator's and the whole machine's.
#[derive(Clone, Copy, Debug)]
pub struct CpuSample {
    server: Usage,
    generator: Usage,
    machine_ticks: u64,
}

/// What happened between two [`CpuSample`]s.
#[derive(Clone, Copy, Debug, Default)]
pub struct CpuUse {
    pub server_percent: f64,
    pub generator_percent: f64,
    /// Everything else on the machine meanwhile (other engineers' builds...).
    pub others_percent: f64,
    /// The server's memory at the later sample.
    pub server_rss_kib: u64,
    pub server_hwm_kib: u64,
}

impl CpuSample {
    pub fn take(server: &Server) -> Result<CpuSample> {
        Ok(CpuSample {
            server: server.usage()?,
            generator: Usage::of_self()?,
            machine_ticks: machine_busy_ticks()?,
        })
    }

    /// Use from `self` to `later`, `wall` apart, as percentages of one core.
    pub fn until(&self, later: &CpuSample, wall: Duration) -> CpuUse {
        let ticks = |t: u64| Usage {
            cpu_ticks: t,
            ..Usage::default()
        };
        let mine = later.server.cpu_ticks.saturating_sub(self.server.cpu_ticks)
            + later
                .generator
                .cpu_ticks
                .saturating_sub(self.generator.cpu_ticks);
        let all = later.machine_ticks.saturating_sub(self.machine_ticks);
        CpuUse {
            server_percent: Usage::cpu_percent(self.server, later.server, wall),
            generator_percent: Usage::cpu_percent(self.generator, later.generator, wall),
            others_percent: Usage::cpu_percent(ticks(mine), ticks(all), wall).max(0.0),
            server_rss_kib: later.server.rss_kib,
            server_hwm_kib: later.server.hwm_kib,
        }
    }
}
