//! Resource limits through cgroups: v2 where the host's unified hierarchy has the
//! memory, pids and cpu controllers, v1 otherwise. Each step of a run gets its own
//! cgroup, created next to (under) the server's own cgroup and removed after the step.

use std::fs::{self, File, OpenOptions};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use crate::error::SandboxError;

/// Which cgroup hierarchy the sandbox uses on this host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CgroupKind {
    /// Unified hierarchy; runs are created under `parent`.
    V2 { parent: PathBuf },
    /// Legacy hierarchies, one parent directory per controller (`None`: controller
    /// missing or not writable).
    V1 {
        memory: Option<PathBuf>,
        pids: Option<PathBuf>,
        cpu: Option<PathBuf>,
        cpuacct: Option<PathBuf>,
    },
    /// No usable cgroup: only rlimits apply.
    None,
}

/// What the detection found, for `peercode doctor` and the server's start-up log.
#[derive(Debug, Clone)]
pub struct CgroupReport {
    pub kind: CgroupKind,
    /// Human-readable notes: what was found, why something is missing.
    pub notes: Vec<String>,
}

impl CgroupReport {
    pub fn has_memory(&self) -> bool {
        match &self.kind {
            CgroupKind::V2 { .. } => true,
            CgroupKind::V1 { memory, .. } => memory.is_some(),
            CgroupKind::None => false,
        }
    }
    pub fn has_pids(&self) -> bool {
        match &self.kind {
            CgroupKind::V2 { .. } => true,
            CgroupKind::V1 { pids, .. } => pids.is_some(),
            CgroupKind::None => false,
        }
    }
    pub fn has_cpu(&self) -> bool {
        match &self.kind {
            CgroupKind::V2 { .. } => true,
            CgroupKind::V1 { cpu, cpuacct, .. } => cpu.is_some() && cpuacct.is_some(),
            CgroupKind::None => false,
        }
    }
    /// "v2", "v1" or "none".
    pub fn version(&self) -> &'static str {
        match self.kind {
            CgroupKind::V2 { .. } => "v2",
            CgroupKind::V1 { .. } => "v1",
            CgroupKind::None => "none",
        }
    }
}

struct Mount {
    root: String,
    point: PathBuf,
    fstype: String,
    super_opts: Vec<String>,
}

fn mounts() -> Vec<Mount> {
    parse_mountinfo(&fs::read_to_string("/proc/self/mountinfo").unwrap_or_default())
}

fn parse_mountinfo(text: &str) -> Vec<Mount> {
    text.lines()
        .filter_map(|line| {
            let (left, right) = line.split_once(" - ")?;
            let l: Vec<&str> = left.split(' ').collect();
            let r: Vec<&str> = right.split(' ').collect();
            Some(Mount {
                root: (*l.get(3)?).to_owned(),
                point: PathBuf::from(unescape(l.get(4)?)),
                fstype: (*r.first()?).to_owned(),
                super_opts: r.get(2)?.split(',').map(str::to_owned).collect(),
            })
        })
        .collect()
}

fn unescape(s: &str) -> String {
    s.replace("\\040", " ")
        .replace("\\011", "\t")
        .replace("\\134", "\\")
}

/// `(controllers, path)` of each hierarchy this process is in, from /proc/self/cgroup.
fn own_cgroups() -> Vec<(Vec<String>, String)> {
    parse_proc_cgroup(&fs::read_to_string("/proc/self/cgroup").unwrap_or_default())
}

fn parse_proc_cgroup(text: &str) -> Vec<(Vec<String>, String)> {
    text.lines()
        .filter_map(|line| {
            let mut parts = line.splitn(3, ':');
            let _id = parts.next()?;
            let ctrl = parts.next()?;
            let path = parts.next()?;
            let ctrls = if ctrl.is_empty() {
                Vec::new()
            } else {
                ctrl.split(',').map(str::to_owned).collect()
            };
            Some((ctrls, path.to_owned()))
        })
        .collect()
}

fn join_cgroup(mount: &Mount, own: &str) -> PathBuf {
    let rel = own.strip_prefix(mount.root.as_str()).unwrap_or(own);
    mount.point.join(rel.trim_start_matches('/'))
}

/// Can we create a child cgroup here? The empty cgroup made to find out is returned: it
/// is named like a run's and becomes the first step's (see [`Spares`]).
fn writable(dir: &Path) -> Result<PathBuf, io::Error> {
    let probe = dir.join(run_cgroup_name());
    fs::create_dir(&probe)?;
    Ok(probe)
}

/// A fresh `peercode-run-<pid>-<n>` name; [`sweep_stale`] removes those of dead processes.
fn run_cgroup_name() -> String {
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    format!("peercode-run-{}-{n}", std::process::id())
}

/// The empty cgroups made while probing the host, one per hierarchy in use, kept for the
/// first step instead of being removed and made again: a `mkdir` and an `rmdir` fewer per
/// controller, what a one-run `peercode run` would pay twice. Whatever no step takes is
/// removed on drop.
#[derive(Debug, Default)]
pub(crate) struct Spares {
    /// Per v1 controller (memory, pids, cpu, cpuacct), or the v2 cgroup as `memory`.
    memory: Option<PathBuf>,
    pids: Option<PathBuf>,
    cpu: Option<PathBuf>,
    cpuacct: Option<PathBuf>,
}

impl Drop for Spares {
    fn drop(&mut self) {
        for dir in [
            &mut self.memory,
            &mut self.pids,
            &mut self.cpu,
            &mut self.cpuacct,
        ] {
            if let Some(dir) = dir.take() {
                let _ = fs::remove_dir(dir);
            }
        }
    }
}

const V2_CONTROLLERS: [&str; 3] = ["memory", "pids", "cpu"];

/// Finds the cgroup hierarchy to use. `parent` overrides where run cgroups are created
/// (v2: a delegated cgroup; v1: ignored, runs go under the server's own cgroups). The
/// cgroups made to probe the hierarchies come back as [`Spares`].
pub(crate) fn detect(parent: Option<&Path>) -> (CgroupReport, Spares) {
    let mounts = mounts();
    let own = own_cgroups();
    let mut notes = Vec::new();
    let mut spares = Spares::default();

    if let Some(m) = mounts.iter().find(|m| m.fstype == "cgroup2") {
        let own_path = own
            .iter()
            .find(|(c, _)| c.is_empty())
            .map(|(_, p)| p.clone())
            .unwrap_or_else(|| "/".to_owned());
        let dir = parent
            .map(Path::to_path_buf)
            .unwrap_or_else(|| join_cgroup(m, &own_path));
        let available = fs::read_to_string(dir.join("cgroup.controllers")).unwrap_or_default();
        let missing: Vec<&str> = V2_CONTROLLERS
            .iter()
            .copied()
            .filter(|c| !available.split_whitespace().any(|a| a == *c))
            .collect();
        if missing.is_empty() {
            match prepare_v2(&dir) {
                Ok((parent, probe)) => {
                    notes.push(format!("cgroup v2 at {}", parent.display()));
                    spares.memory = probe;
                    let report = CgroupReport {
                        kind: CgroupKind::V2 { parent },
                        notes,
                    };
                    return (report, spares);
                }
                Err(e) => notes.push(format!(
                    "cgroup v2 at {} has the controllers but cannot delegate them: {e}",
                    dir.display()
                )),
            }
        } else {
            notes.push(format!(
                "cgroup v2 at {} lacks controllers: {} (bound to v1 hierarchies?)",
                dir.display(),
                missing.join(", ")
            ));
        }
    }

    let mut find_v1 = |name: &str| -> Option<(PathBuf, PathBuf)> {
        let m = mounts
            .iter()
            .find(|m| m.fstype == "cgroup" && m.super_opts.iter().any(|o| o == name))?;
        let own_path = own
            .iter()
            .find(|(c, _)| c.iter().any(|c| c == name))
            .map(|(_, p)| p.clone())
            .unwrap_or_else(|| "/".to_owned());
        let dir = join_cgroup(m, &own_path);
        match writable(&dir) {
            Ok(probe) => Some((dir, probe)),
            Err(e) => {
                notes.push(format!(
                    "cgroup v1 {name} at {} is not writable: {e}",
                    dir.display()
                ));
                None
            }
        }
    };
    let split = |found: Option<(PathBuf, PathBuf)>, spare: &mut Option<PathBuf>| {
        found.map(|(dir, probe)| {
            *spare = Some(probe);
            dir
        })
    };
    let memory = split(find_v1("memory"), &mut spares.memory);
    let pids = split(find_v1("pids"), &mut spares.pids);
    let cpu = split(find_v1("cpu"), &mut spares.cpu);
    let cpuacct = split(find_v1("cpuacct"), &mut spares.cpuacct);
    if memory.is_none() && pids.is_none() && cpu.is_none() && cpuacct.is_none() {
        notes.push("no usable cgroup controllers: only rlimits limit a run".to_owned());
        let report = CgroupReport {
            kind: CgroupKind::None,
            notes,
        };
        return (report, spares);
    }
    for (name, dir) in [
        ("memory", &memory),
        ("pids", &pids),
        ("cpu", &cpu),
        ("cpuacct", &cpuacct),
    ] {
        match dir {
            Some(d) => notes.push(format!("cgroup v1 {name} at {}", d.display())),
            None => notes.push(format!("cgroup v1 {name}: missing")),
        }
    }
    let report = CgroupReport {
        kind: CgroupKind::V1 {
            memory,
            pids,
            cpu,
            cpuacct,
        },
        notes,
    };
    (report, spares)
}

/// Makes `dir` able to hold run cgroups with the three controllers enabled. A v2 cgroup
/// that has processes cannot enable controllers for children ("no internal processes"),
/// so if the server itself sits in `dir`, it first moves into a `supervisor` leaf
/// (what systemd's `DelegateSubgroup=` does). Returns the directory and, when it probed
/// it, the empty cgroup it made.
fn prepare_v2(dir: &Path) -> io::Result<(PathBuf, Option<PathBuf>)> {
    let want = "+memory +pids +cpu";
    let control = dir.join("cgroup.subtree_control");
    let enabled = fs::read_to_string(&control)?;
    if V2_CONTROLLERS
        .iter()
        .all(|c| enabled.split_whitespace().any(|e| e == *c))
    {
        let probe = writable(dir)?;
        return Ok((dir.to_path_buf(), Some(probe)));
    }
    match fs::write(&control, want) {
        Ok(()) => Ok((dir.to_path_buf(), None)),
        Err(e) if e.raw_os_error() == Some(libc::EBUSY) => {
            let leaf = dir.join("supervisor");
            match fs::create_dir(&leaf) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
                Err(e) => return Err(e),
            }
            // Moves the whole server process (all threads) into the leaf.
            fs::write(leaf.join("cgroup.procs"), std::process::id().to_string())?;
            fs::write(&control, want)?;
            Ok((dir.to_path_buf(), None))
        }
        Err(e) => Err(e),
    }
}

/// Removes cgroups left by an earlier server process that died without cleaning up
/// (its runs were killed with it; their empty cgroups remain).
pub fn sweep_stale(report: &CgroupReport) {
    let dirs: Vec<&PathBuf> = match &report.kind {
        CgroupKind::V2 { parent } => vec![parent],
        CgroupKind::V1 {
            memory,
            pids,
            cpu,
            cpuacct,
        } => [memory, pids, cpu, cpuacct].into_iter().flatten().collect(),
        CgroupKind::None => Vec::new(),
    };
    for dir in dirs {
        let Ok(entries) = fs::read_dir(dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let name = entry.file_name();
            let Some(rest) = name.to_str().and_then(|n| n.strip_prefix("peercode-run-")) else {
                continue;
            };
            let Some(pid) = rest.split('-').next().and_then(|p| p.parse::<u32>().ok()) else {
                continue;
            };
            if pid != std::process::id() && !Path::new(&format!("/proc/{pid}")).exists() {
                let _ = fs::remove_dir(entry.path());
            }
        }
    }
}

/// Limits of one step's cgroup.
#[derive(Debug, Clone, Copy)]
pub(crate) struct CgroupLimits {
    pub memory_bytes: u64,
    pub pids: u64,
    /// CFS quota per 100 ms period, in µs.
    pub cpu_quota_us: u64,
}

/// The cgroup(s) of one step. Removed by [`StepCgroup::remove`] or on drop.
pub(crate) struct StepCgroup {
    kind: Version,
    /// Every directory created (one per v1 controller, one for v2).
    dirs: Vec<PathBuf>,
    memory: Option<PathBuf>,
    cpu: Option<PathBuf>,
    /// Files the step's process writes "0" into to join: v1 `tasks` (moving only the
    /// calling thread skips the global threadgroup lock, whose RCU grace period costs
    /// milliseconds per run), v2 `cgroup.procs` (fallback when `clone3` cannot fork
    /// straight into the cgroup).
    pub procs: Vec<File>,
    /// v2: the cgroup directory, for `clone3(CLONE_INTO_CGROUP)`.
    pub dir: Option<File>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Version {
    V1,
    V2,
}

static COUNTER: AtomicU64 = AtomicU64::new(0);

fn write(path: PathBuf, value: &str) -> Result<(), SandboxError> {
    fs::write(&path, value).map_err(|source| SandboxError::Cgroup { path, source })
}

impl StepCgroup {
    /// Every directory of this step's cgroup (one per v1 controller, one for v2).
    pub(crate) fn dirs(&self) -> &[PathBuf] {
        &self.dirs
    }

    /// Creates the step's cgroup with its limits.
    pub(crate) fn create(
        report: &CgroupReport,
        limits: CgroupLimits,
        spares: Option<Spares>,
    ) -> Result<Option<Self>, SandboxError> {
        let mut spares = spares.unwrap_or_default();
        let name = run_cgroup_name();
        // Each controller's directory: the spare made while probing, or a new one.
        let mut fresh = Vec::new();
        let mut dir_in = |parent: &Path, spare: &mut Option<PathBuf>| -> PathBuf {
            spare.take().unwrap_or_else(|| {
                let d = parent.join(&name);
                fresh.push(d.clone());
                d
            })
        };
        let (kind, memory, pids, cpu, cpuacct) = match &report.kind {
            CgroupKind::None => return Ok(None),
            CgroupKind::V2 { parent } => {
                let d = dir_in(parent, &mut spares.memory);
                (Version::V2, Some(d), None, None, None)
            }
            CgroupKind::V1 {
                memory,
                pids,
                cpu,
                cpuacct,
            } => (
                Version::V1,
                memory.as_deref().map(|p| dir_in(p, &mut spares.memory)),
                pids.as_deref().map(|p| dir_in(p, &mut spares.pids)),
                cpu.as_deref().map(|p| dir_in(p, &mut spares.cpu)),
                cpuacct.as_deref().map(|p| dir_in(p, &mut spares.cpuacct)),
            ),
        };
        let mut cg = StepCgroup {
            kind,
            dirs: [&memory, &pids, &cpu, &cpuacct]
                .into_iter()
                .flatten()
                .cloned()
                .collect(),
            memory: memory.clone(),
            cpu: match kind {
                Version::V2 => memory.clone(),
                Version::V1 => cpuacct.clone(),
            },
            procs: Vec::new(),
            dir: None,
        };
        // From here on, `cg` removes whatever was created (or handed over) if anything
        // fails.
        for dir in fresh {
            fs::create_dir(&dir).map_err(|source| SandboxError::Cgroup {
                path: dir.clone(),
                source,
            })?;
        }
        match kind {
            Version::V2 => {
                let d = cg.dirs[0].clone();
                write(d.join("memory.max"), &limits.memory_bytes.to_string())?;
                // Swap would let a program exceed its memory limit unnoticed.
                let _ = fs::write(d.join("memory.swap.max"), "0");
                let _ = fs::write(d.join("memory.oom.group"), "1");
                write(d.join("pids.max"), &limits.pids.to_string())?;
                write(
                    d.join("cpu.max"),
                    &format!("{} 100000", limits.cpu_quota_us),
                )?;
            }
            Version::V1 => {
                if let Some(d) = &memory {
                    write(
                        d.join("memory.limit_in_bytes"),
                        &limits.memory_bytes.to_string(),
                    )?;
                    let memsw = d.join("memory.memsw.limit_in_bytes");
                    if memsw.exists() {
                        write(memsw, &limits.memory_bytes.to_string())?;
                    }
                }
                if let Some(d) = &pids {
                    write(d.join("pids.max"), &limits.pids.to_string())?;
                }
                if let Some(d) = &cpu {
                    write(d.join("cpu.cfs_period_us"), "100000")?;
                    write(d.join("cpu.cfs_quota_us"), &limits.cpu_quota_us.to_string())?;
                }
            }
        }
        let join_file = match cg.kind {
            Version::V1 => "tasks",
            Version::V2 => "cgroup.procs",
        };
        for dir in &cg.dirs {
            let path = dir.join(join_file);
            let file = OpenOptions::new()
                .write(true)
                .open(&path)
                .map_err(|source| SandboxError::Cgroup { path, source })?;
            cg.procs.push(file);
        }
        if cg.kind == Version::V2 {
            let path = cg.dirs[0].clone();
            let dir = File::open(&path).map_err(|source| SandboxError::Cgroup { path, source })?;
            cg.dir = Some(dir);
        }
        Ok(Some(cg))
    }

    /// CPU time used by every process of the step so far, in µs.
    pub(crate) fn cpu_usage_us(&self) -> Option<u64> {
        let d = self.cpu.as_ref()?;
        match self.kind {
            Version::V2 => {
                let stat = fs::read_to_string(d.join("cpu.stat")).ok()?;
                stat.lines()
                    .find_map(|l| l.strip_prefix("usage_usec "))
                    .and_then(|v| v.trim().parse().ok())
            }
            Version::V1 => fs::read_to_string(d.join("cpuacct.usage"))
                .ok()?
                .trim()
                .parse::<u64>()
                .ok()
                .map(|ns| ns / 1000),
        }
    }

    /// Peak memory of the step in KiB.
    pub(crate) fn memory_peak_kb(&self) -> Option<u64> {
        let d = self.memory.as_ref()?;
        let file = match self.kind {
            Version::V2 => "memory.peak",
            Version::V1 => "memory.max_usage_in_bytes",
        };
        fs::read_to_string(d.join(file))
            .ok()?
            .trim()
            .parse::<u64>()
            .ok()
            .map(|b| b / 1024)
    }

    /// Whether the kernel OOM-killed a process of the step, or an allocation hit the
    /// limit.
    pub(crate) fn hit_memory_limit(&self) -> bool {
        let Some(d) = self.memory.as_ref() else {
            return false;
        };
        let counter = |file: &str, key: &str| -> u64 {
            fs::read_to_string(d.join(file))
                .ok()
                .and_then(|t| {
                    t.lines()
                        .find_map(|l| l.strip_prefix(key))
                        .and_then(|v| v.trim().parse().ok())
                })
                .unwrap_or(0)
        };
        match self.kind {
            Version::V2 => {
                counter("memory.events", "oom_kill ") + counter("memory.events", "max ") > 0
            }
            Version::V1 => {
                counter("memory.oom_control", "oom_kill ") > 0
                    || fs::read_to_string(d.join("memory.failcnt"))
                        .ok()
                        .and_then(|t| t.trim().parse::<u64>().ok())
                        .unwrap_or(0)
                        > 0
            }
        }
    }

    /// Kills anything still in the cgroup and removes it. The PID namespace normally
    /// took every process already; this is the second line of defence.
    pub(crate) fn remove(mut self) -> Result<(), SandboxError> {
        self.remove_dirs()
    }

    /// One `rmdir` per directory, without waiting: true once every directory is gone
    /// (an empty cgroup, the normal case after the run's init was reaped).
    pub(crate) fn try_remove_now(&mut self) -> bool {
        self.procs.clear();
        self.dir = None;
        self.dirs.retain(|dir| match fs::remove_dir(dir) {
            Ok(()) => false,
            Err(e) => e.kind() != io::ErrorKind::NotFound,
        });
        self.dirs.is_empty()
    }

    fn remove_dirs(&mut self) -> Result<(), SandboxError> {
        self.procs.clear();
        self.dir = None;
        let mut last = Ok(());
        for dir in std::mem::take(&mut self.dirs) {
            last = remove_dir(&dir);
        }
        last
    }
}

impl Drop for StepCgroup {
    fn drop(&mut self) {
        if let Err(e) = self.remove_dirs() {
            tracing::warn!("sandbox cgroup left behind: {e}");
        }
    }
}

fn remove_dir(dir: &Path) -> Result<(), SandboxError> {
    let mut delay = Duration::from_micros(200);
    for _ in 0..40 {
        match fs::remove_dir(dir) {
            Ok(()) => return Ok(()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
            Err(e) if e.raw_os_error() == Some(libc::EBUSY) => {
                if fs::write(dir.join("cgroup.kill"), "1").is_err()
                    && let Ok(procs) = fs::read_to_string(dir.join("cgroup.procs"))
                {
                    for pid in procs.lines().filter_map(|p| p.trim().parse::<i32>().ok()) {
                        crate::sys::kill_pid(pid);
                    }
                }
                std::thread::sleep(delay);
                delay = (delay * 2).min(Duration::from_millis(50));
            }
            Err(source) => {
                return Err(SandboxError::Cgroup {
                    path: dir.to_path_buf(),
                    source,
                });
            }
        }
    }
    Err(SandboxError::Cgroup {
        path: dir.to_path_buf(),
        source: io::Error::from_raw_os_error(libc::EBUSY),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_v1_controllers_and_the_unified_mount() {
        // This machine kind: v1 controllers plus a controller-less cgroup2 mount.
        let mounts = parse_mountinfo(
            "35 25 0:30 / /sys/fs/cgroup/memory rw,relatime shared:12 - cgroup cgroup rw,memory\n\
             36 25 0:31 / /sys/fs/cgroup/cpu rw,relatime shared:13 - cgroup cgroup rw,cpu\n\
             40 25 0:35 / /sys/fs/cgroup/unified rw,relatime shared:17 - cgroup2 cgroup2 rw\n",
        );
        assert_eq!(mounts.len(), 3);
        assert_eq!(mounts[0].fstype, "cgroup");
        assert!(mounts[0].super_opts.iter().any(|o| o == "memory"));
        assert_eq!(mounts[2].point, PathBuf::from("/sys/fs/cgroup/unified"));
        let own = parse_proc_cgroup("4:memory:/process_api/abc\n1:cpu:/\n0::/\n");
        assert_eq!(
            own[0],
            (vec!["memory".to_owned()], "/process_api/abc".to_owned())
        );
        assert_eq!(own[2], (Vec::new(), "/".to_owned()));
        assert_eq!(
            join_cgroup(&mounts[0], &own[0].1),
            PathBuf::from("/sys/fs/cgroup/memory/process_api/abc")
        );
    }

    #[test]
    fn pure_v2_paths_join_under_the_mount() {
        let mounts = parse_mountinfo(
            "30 23 0:26 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot\n",
        );
        let own = parse_proc_cgroup("0::/system.slice/peercode.service\n");
        assert_eq!(
            join_cgroup(&mounts[0], &own[0].1),
            PathBuf::from("/sys/fs/cgroup/system.slice/peercode.service")
        );
        // Inside a container whose cgroup namespace root is a sub-cgroup, mountinfo's
        // root field is that cgroup and /proc/self/cgroup is relative to it.
        let m = parse_mountinfo(
            "30 23 0:26 /docker/abc /sys/fs/cgroup ro,nosuid - cgroup2 cgroup2 rw\n",
        );
        assert_eq!(
            join_cgroup(&m[0], "/docker/abc/sub"),
            PathBuf::from("/sys/fs/cgroup/sub")
        );
    }
}
