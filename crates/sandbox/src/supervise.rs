//! One run from the host's side, in four phases: `prepare` (cgroups, pipes, the plan),
//! `spawn` (the init, cloned by the spawner thread), `watch` (output, status records,
//! limits, cancel, until every pipe is closed and the init is reaped) and
//! [`judge`](crate::judge::judge) (a pure function of what was seen).

use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::unix::pipe;
use tokio::sync::{OwnedSemaphorePermit, mpsc, oneshot};
use tokio_util::sync::CancellationToken;

use crate::cgroup::{CgroupLimits, CgroupReport, StepCgroup};
use crate::config::{Limits, RunRequest};
use crate::error::SandboxError;
use crate::host::Mode;
use crate::judge::{KillReason, Observation, StepSeen, judge};
use crate::language::Language;
use crate::outcome::{OutputChunk, RunOutcome, Stream};
use crate::plan::{Identity, Plan, PlanInput, Record, StepFds, StepInput, record};
use crate::sandbox::{Inner, UidLease};
use crate::sys;

/// One step of a run (the compile step, or the run step) as the supervisor holds it.
pub(crate) struct Step {
    pub compile: bool,
    pub limits: Limits,
    /// `None` on a host without usable cgroups.
    pub cgroup: Option<StepCgroup>,
    pub io: StepIo,
    pub state: StepState,
}

/// One step's pipe ends. Host-side ends move to their reader/writer tasks once the
/// sandbox is spawned; child-side ends are closed then.
#[derive(Default)]
pub(crate) struct StepIo {
    /// Host side: `(stream, read end)`.
    readers: Vec<(Stream, OwnedFd)>,
    /// Host side: write end of stdin, with what to write.
    stdin: Option<(OwnedFd, Vec<u8>)>,
    /// Child side: stdin, stdout, stderr (the same pipe for a compile step's two);
    /// `None` once handed over.
    child: Option<[OwnedFd; 3]>,
}

/// What the supervisor saw of one step while it ran.
#[derive(Default)]
pub(crate) struct StepState {
    started: Option<Instant>,
    ended: Option<Instant>,
    exit: Option<Record>,
}

impl StepState {
    fn wall_ms(&self) -> u64 {
        match (self.started, self.ended) {
            (Some(a), Some(b)) => u64::try_from((b - a).as_millis()).unwrap_or(u64::MAX),
            (Some(a), None) => u64::try_from(a.elapsed().as_millis()).unwrap_or(u64::MAX),
            _ => 0,
        }
    }
}

/// Owns everything a live run holds on the host. [`Live::finish`] cleans up, handing
/// anything that must wait to the blocking pool; dropping it unfinished (task aborted,
/// runtime shut down, panic) hands the whole cleanup to the sandbox's reaper thread. Either way the
/// uid slot and the permit are released only once the run's processes are gone.
pub(crate) struct Live {
    inner: Arc<Inner>,
    pidfd: Option<OwnedFd>,
    /// The init reported that every process of the run is gone ([`record::DONE`]); only
    /// its own exit is left, which nobody needs to wait for.
    init_done: bool,
    steps: Vec<Step>,
    slot: Option<u32>,
    lease: Option<UidLease>,
    permit: Option<OwnedSemaphorePermit>,
}

/// The cleanup of a run: kill and reap the init, remove the cgroups, free the slot.
pub(crate) struct Cleanup {
    inner: Arc<Inner>,
    pidfd: Option<OwnedFd>,
    cgroups: Vec<StepCgroup>,
    slot: Option<u32>,
    lease: Option<UidLease>,
    permit: Option<OwnedSemaphorePermit>,
}

impl Cleanup {
    /// Blocking (unless already reaped and the cgroups removed): runs on the reaper
    /// thread or a blocking-pool thread.
    pub(crate) fn run(mut self) {
        if let Some(fd) = self.pidfd.take() {
            sys::kill(&fd);
            sys::reap_blocking(&fd);
        }
        for cg in self.cgroups.drain(..) {
            if let Err(e) = cg.remove() {
                tracing::warn!("sandbox cleanup: {e}");
            }
        }
        drop(self.lease.take()); // the uid's processes are gone
        if let Some(slot) = self.slot.take() {
            self.inner.release_slot(slot);
        }
        drop(self.permit.take());
    }
}

/// A sandbox made ahead of its run (see [`crate::SandboxConfig::init_ahead`]): its
/// init has built everything but the run's files and waits for a byte on `go`. Taken
/// by a run of the same language and limits ([`Inner::take_ready`]); dropped unused, it
/// is killed and reaped and its cgroups removed.
pub(crate) struct Ready {
    pub(crate) language: Language,
    pub(crate) limits: Limits,
    pid: libc::pid_t,
    pidfd: Option<OwnedFd>,
    uid: u32,
    slot: Option<u32>,
    lease: Option<UidLease>,
    steps: Vec<Step>,
    status_read: Option<OwnedFd>,
    go: Option<OwnedFd>,
    plan: Arc<Plan>,
}

impl Ready {
    /// Whether its init has exited: no run came in time (see
    /// [`crate::SandboxConfig::init_ahead`]).
    pub(crate) fn expired(&self) -> bool {
        self.pidfd.as_ref().is_none_or(sys::has_exited)
    }

    /// The init's host pid and the steps' cgroup directories.
    pub(crate) fn held(&self) -> crate::MadeAhead {
        crate::MadeAhead {
            language: self.language.name.clone(),
            init_pid: u32::try_from(self.pid).unwrap_or_default(),
            cgroups: self
                .steps
                .iter()
                .filter_map(|s| s.cgroup.as_ref())
                .flat_map(|c| c.dirs().iter().cloned())
                .collect(),
        }
    }

    /// Writes a run's files into the work dir, owned by the run's uid, through the
    /// init's root (`/proc/<pid>/root`; root mode only). Nothing has executed in this
    /// sandbox yet, so nothing in it can be a planted symlink; every open refuses one
    /// all the same. Small writes into a tmpfs: no waiting.
    pub(crate) fn write_files(
        &self,
        request: &RunRequest,
        language: &Language,
    ) -> Result<(), SandboxError> {
        use std::fs::Permissions;
        use std::io::Write;
        use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
        let uid = self.uid;
        let work = std::path::PathBuf::from(format!("/proc/{}/root/work", self.pid));
        let err = |what: &str, e| {
            SandboxError::io(format!("writing {what} into a sandbox made ahead"), e)
        };
        let files = std::iter::once((language.source.as_str(), request.source.as_slice())).chain(
            request
                .files
                .iter()
                .map(|(p, d)| (p.as_str(), d.as_slice())),
        );
        for (name, data) in files {
            let mut dir = work.clone();
            let parents: Vec<&str> = name.split('/').collect();
            for comp in &parents[..parents.len().saturating_sub(1)] {
                dir.push(comp);
                match std::fs::DirBuilder::new().mode(0o755).create(&dir) {
                    // As the init makes them, whatever this process's umask.
                    Ok(()) => std::fs::set_permissions(&dir, Permissions::from_mode(0o755))
                        .and_then(|()| std::os::unix::fs::lchown(&dir, Some(uid), Some(uid)))
                        .map_err(|e| err(name, e))?,
                    Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
                    Err(e) => return Err(err(name, e)),
                }
            }
            let mut file = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o644)
                .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
                .open(work.join(name))
                .map_err(|e| err(name, e))?;
            file.write_all(data)
                .and_then(|()| file.set_permissions(Permissions::from_mode(0o644)))
                .and_then(|()| std::os::unix::fs::fchown(&file, Some(uid), Some(uid)))
                .map_err(|e| err(name, e))?;
        }
        Ok(())
    }

    /// Gives up a sandbox nobody will use. Its uid slot is free at once: no process
    /// ever ran as its uid (the init is root and no step was forked), so the next run
    /// may have it while the reaper thread kills and reaps the init and removes the
    /// cgroups. (Held until then, a slot freed late could leave a run that holds a
    /// permit without a slot.)
    pub(crate) fn discard(mut self, inner: &Arc<Inner>) {
        drop(self.lease.take());
        if let Some(slot) = self.slot.take() {
            inner.release_slot(slot);
        }
        let cleanup = Cleanup {
            inner: Arc::clone(inner),
            pidfd: self.pidfd.take(),
            cgroups: take_cgroups(&mut self.steps),
            slot: None,
            lease: None,
            permit: None,
        };
        inner.reap_later(cleanup);
    }
}

impl Drop for Ready {
    /// Unused when its sandbox goes away: kill and reap the init (it only waits, so it
    /// dies at once); the cgroups, empty, go with the steps.
    fn drop(&mut self) {
        if let Some(fd) = self.pidfd.take() {
            sys::kill(&fd);
            sys::reap_blocking(&fd);
        }
    }
}

/// Every step's cgroup, taken out of the steps (for a cleanup).
fn take_cgroups(steps: &mut [Step]) -> Vec<StepCgroup> {
    steps.iter_mut().filter_map(|s| s.cgroup.take()).collect()
}

impl Live {
    pub(crate) fn new(
        inner: Arc<Inner>,
        slot: u32,
        lease: UidLease,
        permit: OwnedSemaphorePermit,
    ) -> Self {
        let mut live = Live::for_ready(inner, permit);
        live.slot = Some(slot);
        live.lease = Some(lease);
        live
    }

    /// A run that takes a sandbox made ahead: its slot and lease come with it
    /// ([`Live::adopt`]).
    pub(crate) fn for_ready(inner: Arc<Inner>, permit: OwnedSemaphorePermit) -> Self {
        Live {
            inner,
            pidfd: None,
            init_done: false,
            steps: Vec::new(),
            slot: None,
            lease: None,
            permit: Some(permit),
        }
    }

    /// Takes over what a sandbox made ahead holds (its uid slot and lease, its steps
    /// with their cgroups and pipes), so that the run's cleanup covers it.
    fn adopt(&mut self, ready: &mut Ready) {
        self.slot = ready.slot.take();
        self.lease = ready.lease.take();
        self.steps = std::mem::take(&mut ready.steps);
    }

    fn take_cleanup(&mut self) -> Cleanup {
        Cleanup {
            inner: Arc::clone(&self.inner),
            pidfd: self.pidfd.take(),
            cgroups: take_cgroups(&mut self.steps),
            slot: self.slot.take(),
            lease: self.lease.take(),
            permit: self.permit.take(),
        }
    }

    /// Cleans up. Normally every process of the run is gone by now (the init reported
    /// so, or was reaped) and its cgroups are empty, so one `rmdir` each finishes the
    /// job here; an init still exiting is left to the reaper thread, which frees the
    /// uid, the slot and the permit once it is reaped. Anything else that needs waiting
    /// (an init still to kill, a cgroup still busy) goes to a blocking-pool thread,
    /// awaited.
    pub(crate) async fn finish(mut self) {
        let init_done = self.init_done;
        let mut cleanup = self.take_cleanup();
        if cleanup.pidfd.is_none() || init_done {
            cleanup.cgroups.retain_mut(|cg| !cg.try_remove_now());
            if cleanup.cgroups.is_empty() {
                if cleanup.pidfd.is_none() {
                    cleanup.run(); // frees the slot and the permit; nothing blocks
                } else {
                    let inner = Arc::clone(&cleanup.inner);
                    inner.reap_later(cleanup);
                }
                return;
            }
        }
        if let Err(e) = tokio::task::spawn_blocking(move || cleanup.run()).await {
            tracing::error!("sandbox cleanup task failed: {e}");
        }
    }
}

impl Drop for Live {
    fn drop(&mut self) {
        if self.pidfd.is_none()
            && self.slot.is_none()
            && self.steps.iter().all(|s| s.cgroup.is_none())
        {
            return; // finished
        }
        let cleanup = self.take_cleanup();
        self.inner.reap_later(cleanup);
    }
}

/// Runs `request` to its outcome: in `ready`, a sandbox made ahead for a run like it,
/// which holds the run's files by now ([`Ready::write_files`]), or else in one made for
/// it now. `live` holds what must be cleaned up.
pub(crate) async fn supervise(
    live: &mut Live,
    request: &RunRequest,
    language: &Language,
    ready: Option<Ready>,
    chunks: &mpsc::UnboundedSender<OutputChunk>,
    cancel: &CancellationToken,
) -> Result<RunOutcome, SandboxError> {
    let inner = Arc::clone(&live.inner);
    let (plan, pidfd, status_read) = match ready {
        Some(ready) => go(live, ready, request)?,
        None => spawn_for(live, request, language).await?,
    };
    ask_ahead(&inner, request.limits, language);
    follow(live, &plan, pidfd, status_read, chunks, cancel).await
}

/// A started sandbox: its plan, the init's pidfd and the status pipe's read end.
type Started = (Arc<Plan>, OwnedFd, OwnedFd);

/// Makes the run's sandbox and starts it.
async fn spawn_for(
    live: &mut Live,
    request: &RunRequest,
    language: &Language,
) -> Result<Started, SandboxError> {
    let inner = Arc::clone(&live.inner);
    let uid = live
        .lease
        .as_ref()
        .map(|l| l.uid)
        .ok_or(SandboxError::Internal("run without a uid lease"))?;
    live.steps = create_steps(&inner, request.limits, &request.stdin, language)?;
    let files = std::iter::once((language.source.clone(), request.source.clone()))
        .chain(request.files.iter().cloned())
        .collect();
    let recipe = prepare(&inner, uid, files, language, &mut live.steps, None)?;
    let (cgroups, held, spawned) = spawn(&inner, recipe).await;
    for (step, cg) in live.steps.iter_mut().zip(cgroups) {
        step.cgroup = cg;
    }
    let (plan, spawned) = spawned?;
    let pidfd = hold_init(live, spawned.pidfd)?;
    let held = held.ok_or(SandboxError::Internal("the spawner kept the run's pipes"))?;
    for (step, io) in live.steps.iter_mut().zip(held.ios) {
        step.io = io;
    }
    // Child-side ends now live in the sandbox only.
    drop(held.status_write);
    drop(held.netns);
    tracing::debug!(pid = spawned.pid, "sandbox started");
    Ok((plan, pidfd, held.status_read))
}

/// Starts `ready` for the run: takes over what it holds and tells its init to go.
fn go(live: &mut Live, mut ready: Ready, request: &RunRequest) -> Result<Started, SandboxError> {
    let parts = (
        ready.go.take(),
        ready.pidfd.take(),
        ready.status_read.take(),
    );
    live.adopt(&mut ready);
    let (Some(go), Some(pidfd), Some(status_read)) = parts else {
        return Err(SandboxError::Internal(
            "a sandbox made ahead was incomplete",
        ));
    };
    let pidfd = hold_init(live, pidfd)?;
    if let Some(step) = live.steps.last_mut()
        && let Some((_, data)) = &mut step.io.stdin
    {
        data.clone_from(&request.stdin);
    }
    // The root tmpfs gets the size a sandbox made for this run would have had.
    let first_files = live.steps.first().map_or(0, |s| s.limits.file_bytes);
    let size = crate::plan::root_tmpfs_size(first_files, request.files_bytes() as u64);
    std::io::Write::write_all(&mut std::fs::File::from(go), &size.to_ne_bytes())
        .map_err(|e| SandboxError::io("starting a sandbox made ahead", e))?;
    tracing::debug!(pid = ready.pid, "sandbox made ahead started");
    Ok((Arc::clone(&ready.plan), pidfd, status_read))
}

/// Gives `live` its own handle on the init, so that dropping the run (task aborted,
/// runtime shut down, panic) still kills and reaps it; kills the init if it cannot.
fn hold_init(live: &mut Live, pidfd: OwnedFd) -> Result<OwnedFd, SandboxError> {
    match pidfd.try_clone() {
        Ok(guard) => {
            live.pidfd = Some(guard);
            Ok(pidfd)
        }
        Err(e) => {
            sys::kill(&pidfd);
            live.pidfd = Some(pidfd);
            Err(SandboxError::io("dup pidfd", e))
        }
    }
}

/// Follows a started sandbox to its outcome: watches it, then measures and judges.
async fn follow(
    live: &mut Live,
    plan: &Plan,
    pidfd: OwnedFd,
    status_read: OwnedFd,
    chunks: &mpsc::UnboundedSender<OutputChunk>,
    cancel: &CancellationToken,
) -> Result<RunOutcome, SandboxError> {
    let pidfd = sys::watch(pidfd).map_err(|e| SandboxError::io("pidfd", e))?;
    let seen = watch(&mut live.steps, status_read, pidfd, chunks, cancel).await?;
    if seen.init_done {
        // Still exiting, maybe: `finish` leaves its reaping to the reaper thread.
        live.init_done = true;
    } else {
        live.pidfd = None; // reaped: nothing left to kill
    }
    let failure = seen.failure.map(|f| plan.describe_failure(&f));
    let steps = measure(&live.steps);
    judge(Observation {
        steps,
        failure,
        killed: seen.killed,
        outputs: seen.outputs,
        truncated: seen.truncated,
    })
}

/// Makes each step's pipes; its cgroup is made by the spawner thread.
fn create_steps(
    inner: &Inner,
    run_limits: Limits,
    stdin: &[u8],
    language: &Language,
) -> Result<Vec<Step>, SandboxError> {
    let mut limits = Vec::new();
    if language.compile.is_some() {
        limits.push((true, inner.config.compile_limits));
    }
    limits.push((false, run_limits));
    limits
        .into_iter()
        .map(|(compile, limits)| {
            Ok(Step {
                io: step_io(compile, &limits, stdin)?,
                compile,
                limits,
                cgroup: None,
                state: StepState::default(),
            })
        })
        .collect()
}

fn pipe() -> Result<(OwnedFd, OwnedFd), SandboxError> {
    sys::pipe().map_err(|e| SandboxError::io("pipe", e))
}

/// An output pipe that holds more than the output limit where the kernel allows it: a
/// program then writes up to the limit and past it without ever blocking on the reader,
/// so output over the limit is seen before a runtime that queues unwritten output in
/// memory (Node) runs out of it. Without CAP_SYS_RESOURCE the kernel caps a pipe at
/// `fs.pipe-max-size` (1 MiB by default); the pipe gets that much, and a limit at or
/// above it depends on the reader keeping up.
fn output_pipe(limit: u64) -> Result<(OwnedFd, OwnedFd), SandboxError> {
    let (r, w) = pipe()?;
    let want = usize::try_from(limit.saturating_add(64 << 10))
        .unwrap_or(usize::MAX)
        .checked_next_power_of_two()
        .unwrap_or(usize::MAX);
    grow_pipe(&w, want);
    Ok((r, w))
}

/// Set once the kernel refused a pipe larger than `fs.pipe-max-size`: from then on every
/// pipe asks for at most that much straight away, instead of failing first (two output
/// pipes a run, each a refused `fcntl` and a read of the sysctl: ~0.2 ms of every run).
static PIPES_CAPPED: AtomicBool = AtomicBool::new(false);

/// `fs.pipe-max-size`, read once per process.
fn pipe_max_size() -> usize {
    static MAX: OnceLock<usize> = OnceLock::new();
    *MAX.get_or_init(|| {
        std::fs::read_to_string("/proc/sys/fs/pipe-max-size")
            .ok()
            .and_then(|s| s.trim().parse::<usize>().ok())
            .unwrap_or(1 << 20)
    })
}

/// Grows the pipe of `w` to `want` bytes, or to as much as this process may.
fn grow_pipe(w: &OwnedFd, want: usize) -> usize {
    let capped = PIPES_CAPPED.load(Ordering::Relaxed);
    let first = if capped {
        want.min(pipe_max_size())
    } else {
        want
    };
    match sys::set_pipe_size(w, first) {
        Ok(size) => size,
        Err(_) if !capped => {
            PIPES_CAPPED.store(true, Ordering::Relaxed);
            let max = pipe_max_size().min(want);
            sys::set_pipe_size(w, max).unwrap_or_else(|e| {
                tracing::debug!("sandbox: output pipe of {max} bytes refused: {e}");
                0
            })
        }
        Err(e) => {
            tracing::debug!("sandbox: output pipe of {first} bytes refused: {e}");
            0
        }
    }
}

fn step_io(compile: bool, limits: &Limits, stdin: &[u8]) -> Result<StepIo, SandboxError> {
    let (in_r, in_w) = pipe()?;
    let (out_r, out_w) = output_pipe(limits.output_bytes)?;
    if compile {
        let out_w2 = out_w
            .try_clone()
            .map_err(|e| SandboxError::io("dup pipe", e))?;
        drop(in_w); // closed: the compiler reads EOF
        Ok(StepIo {
            readers: vec![(Stream::Compile, out_r)],
            stdin: None,
            child: Some([in_r, out_w, out_w2]),
        })
    } else {
        let (err_r, err_w) = output_pipe(limits.output_bytes)?;
        Ok(StepIo {
            readers: vec![(Stream::Stdout, out_r), (Stream::Stderr, err_r)],
            stdin: Some((in_w, stdin.to_vec())),
            child: Some([in_r, out_w, err_w]),
        })
    }
}

/// The descriptors a plan refers to by number. They travel with the spawn job and come
/// back with its reply, so that none is closed (and its number reused by an unrelated
/// open) before the init is cloned, even if the run is dropped meanwhile.
pub(crate) struct Held {
    ios: Vec<StepIo>,
    status_read: OwnedFd,
    status_write: OwnedFd,
    netns: Option<OwnedFd>,
    /// A sandbox made ahead: the read end of its `go` pipe (the init's).
    go: Option<OwnedFd>,
}

/// Everything the plan is built from, owned, so that the spawner thread can build it
/// once it has made the steps' cgroups (whose descriptors the plan refers to).
pub(crate) struct Recipe {
    root_dir: std::path::PathBuf,
    language: Language,
    /// `(path in the work dir, contents)`: the source first, then the request's files.
    files: Vec<(String, Vec<u8>)>,
    identity: Identity,
    has_memory_cgroup: bool,
    has_pids_cgroup: bool,
    /// Per step: limits, child-side stdin/stdout/stderr, host-side ends.
    steps: Vec<(Limits, [RawFd; 3], Vec<RawFd>)>,
    status_read: RawFd,
    status_write: RawFd,
    seccomp: Vec<crate::seccomp::Bpf>,
    proc_areas: Option<crate::plan::ProcAreas>,
    netns: Option<RawFd>,
    /// The cgroups made while probing the host, if this is the sandbox's first run.
    spares: Option<crate::cgroup::Spares>,
    ahead: Option<crate::plan::Ahead>,
    held: Held,
}

impl Recipe {
    fn cgroup_limits(&self) -> Vec<CgroupLimits> {
        self.steps
            .iter()
            .map(|(l, _, _)| CgroupLimits {
                memory_bytes: l.memory_mb << 20,
                pids: l.processes,
                cpu_quota_us: l.cpu_quota_percent * 1000,
            })
            .collect()
    }

    fn build(&self, cgroups: &[Option<StepCgroup>]) -> Result<Plan, SandboxError> {
        let argvs = self.language.compile.iter().chain([&self.language.run]);
        let files: Vec<(&str, &[u8])> = self
            .files
            .iter()
            .map(|(p, d)| (p.as_str(), d.as_slice()))
            .collect();
        let steps = self
            .steps
            .iter()
            .zip(argvs)
            .zip(cgroups)
            .map(
                |(((limits, [stdin, stdout, stderr], parent_only), argv), cg)| {
                    let cg = cg.as_ref();
                    StepInput {
                        argv,
                        limits: *limits,
                        fds: StepFds {
                            stdin: *stdin,
                            stdout: *stdout,
                            stderr: *stderr,
                            cgroup_procs: cg
                                .map(|c| c.procs.iter().map(AsRawFd::as_raw_fd).collect())
                                .unwrap_or_default(),
                            cgroup_dir: cg.and_then(|c| c.dir.as_ref()).map(AsRawFd::as_raw_fd),
                            parent_only: parent_only.clone(),
                        },
                    }
                },
            )
            .collect();
        Plan::build(PlanInput {
            root_dir: &self.root_dir,
            language: &self.language,
            files: &files,
            identity: self.identity,
            has_memory_cgroup: self.has_memory_cgroup,
            has_pids_cgroup: self.has_pids_cgroup,
            steps,
            status_read: self.status_read,
            status_write: self.status_write,
            seccomp: self.seccomp.clone(),
            proc_areas: self.proc_areas,
            netns: self.netns,
            ahead: self.ahead,
        })
    }
}

/// What the spawner thread is asked to do.
pub(crate) enum Job {
    /// Make a run's sandbox now.
    Spawn(Box<SpawnJob>),
    /// Make a sandbox ahead for the next run like this one, if none is waiting.
    Ahead(Box<AheadJob>),
}

impl Job {
    /// Runs on the spawner thread (blocking work: cgroupfs, `clone`).
    pub(crate) fn run(self, report: &CgroupReport) {
        match self {
            Job::Spawn(job) => job.run(report),
            Job::Ahead(job) => job.run(report),
        }
    }
}

/// What the spawner thread is asked to do for one run: make the cgroups, build the
/// plan, clone the init.
pub(crate) struct SpawnJob {
    recipe: Recipe,
    reply: oneshot::Sender<SpawnReply>,
}

type SpawnReply = (Vec<Option<StepCgroup>>, Option<Held>, SpawnResult);

type SpawnResult = Result<(Arc<Plan>, crate::child::Spawned), SandboxError>;

/// Makes the cgroups, builds the plan and clones the init of `recipe`. The cgroups come
/// back even when spawning failed, so that whoever owns the run removes them.
fn make(recipe: &mut Recipe, report: &CgroupReport) -> (Vec<Option<StepCgroup>>, SpawnResult) {
    let mut cgroups = Vec::new();
    let mut spares = recipe.spares.take();
    for limits in recipe.cgroup_limits() {
        match StepCgroup::create(report, limits, spares.take()) {
            Ok(cg) => cgroups.push(cg),
            Err(e) => return (cgroups, Err(e)),
        }
    }
    let result = recipe.build(&cgroups).and_then(|plan| {
        let spawned = crate::child::spawn(&plan)
            .map_err(|e| SandboxError::io("clone into new namespaces", e))?;
        Ok((Arc::new(plan), spawned))
    });
    (cgroups, result)
}

impl SpawnJob {
    fn run(mut self, report: &CgroupReport) {
        let (cgroups, result) = make(&mut self.recipe, report);
        let held = Some(self.recipe.held);
        if let Err((cgroups, _held, result)) = self.reply.send((cgroups, held, result)) {
            // The run was dropped while this thread worked: nobody watches the init.
            if let Ok((_, spawned)) = result {
                sys::kill(&spawned.pidfd);
                sys::reap_blocking(&spawned.pidfd);
            }
            drop(cgroups); // removed on drop
        }
    }
}

/// A sandbox to make ahead, for the next run of `language` with `limits`.
pub(crate) struct AheadJob {
    /// Weak: a queued job does not keep a dropped sandbox alive.
    inner: std::sync::Weak<Inner>,
    language: Language,
    limits: Limits,
}

impl AheadJob {
    fn run(self, report: &CgroupReport) {
        let Some(inner) = self.inner.upgrade() else {
            return;
        };
        if inner.has_ready() {
            return;
        }
        // A uid slot of its own; none free means every run is busy and a sandbox made
        // now would only take one from them.
        let Some(slot) = inner.slots.lock().ok().and_then(|mut s| s.pop()) else {
            return;
        };
        match self.make(&inner, slot, report) {
            Ok(ready) => inner.put_ready(ready),
            Err(e) => {
                tracing::debug!("sandbox: making one ahead failed: {e}");
                inner.release_slot(slot);
            }
        }
    }

    /// The sandbox, on uid slot `slot`; on failure nothing of it is left but the slot.
    fn make(
        &self,
        inner: &Arc<Inner>,
        slot: u32,
        report: &CgroupReport,
    ) -> Result<Ready, SandboxError> {
        let lease = inner.lease_uid(slot)?;
        let uid = lease.uid;
        let mut steps = create_steps(inner, self.limits, &[], &self.language)?;
        let (go_read, go) = pipe()?;
        let wait = inner.config.init_ahead.unwrap_or_default();
        let wait_ms = i32::try_from(wait.as_millis()).unwrap_or(i32::MAX);
        let files = Vec::new();
        let go_read = Some((go_read, wait_ms));
        let mut recipe = prepare(inner, uid, files, &self.language, &mut steps, go_read)?;
        let (cgroups, result) = make(&mut recipe, report);
        for (step, cg) in steps.iter_mut().zip(cgroups) {
            step.cgroup = cg;
        }
        let held = recipe.held;
        for (step, io) in steps.iter_mut().zip(held.ios) {
            step.io = io;
            // Child-side ends now live in the sandbox only.
            drop(step.io.child.take());
        }
        let (plan, spawned) = result?;
        // The init has its own copies of the child-side ends.
        drop(held.go);
        drop(held.status_write);
        Ok(Ready {
            language: self.language.clone(),
            limits: self.limits,
            pid: spawned.pid,
            pidfd: Some(spawned.pidfd),
            uid,
            slot: Some(slot),
            lease: Some(lease),
            steps,
            status_read: Some(held.status_read),
            go: Some(go),
            plan,
        })
    }
}

/// After a run has started: has the spawner thread make a sandbox ahead for the next run
/// like it, if the sandbox is configured to.
fn ask_ahead(inner: &Arc<Inner>, limits: Limits, language: &Language) {
    if inner.config.init_ahead.is_none() || inner.mode != Mode::Root || inner.has_ready() {
        return;
    }
    let job = Job::Ahead(Box::new(AheadJob {
        inner: Arc::downgrade(inner),
        language: language.clone(),
        limits,
    }));
    if let Ok(tx) = inner.spawner.lock() {
        let _ = tx.send(job);
    }
}

/// Computes what the plan is built from: identity, file system inputs, every
/// descriptor the child uses.
fn prepare(
    inner: &Inner,
    uid: u32,
    files: Vec<(String, Vec<u8>)>,
    language: &Language,
    steps: &mut [Step],
    go: Option<(OwnedFd, libc::c_int)>,
) -> Result<Recipe, SandboxError> {
    let config = &inner.config;
    let identity = match inner.mode {
        Mode::Root => Identity::Uid { uid, gid: uid },
        Mode::UserNamespace => {
            let (host_uid, host_gid) = sys::euid_egid();
            Identity::UserNs { host_uid, host_gid }
        }
    };
    let (status_read, status_write) = pipe()?;
    let netns: Option<OwnedFd> = inner.netns.lock().ok().and_then(|rx| rx.try_recv().ok());
    let step_fds = steps
        .iter()
        .map(|step| {
            let mut parent_only: Vec<RawFd> = step
                .io
                .readers
                .iter()
                .map(|(_, fd)| fd.as_raw_fd())
                .collect();
            parent_only.extend(step.io.stdin.as_ref().map(|(fd, _)| fd.as_raw_fd()));
            let raw = |i: usize| step.io.child.as_ref().map_or(-1, |c| c[i].as_raw_fd());
            (step.limits, [raw(0), raw(1), raw(2)], parent_only)
        })
        .collect();
    let ios = steps
        .iter_mut()
        .map(|s| std::mem::take(&mut s.io))
        .collect();
    Ok(Recipe {
        root_dir: config.root_dir.clone(),
        language: language.clone(),
        files,
        identity,
        has_memory_cgroup: inner.host.cgroups.has_memory(),
        has_pids_cgroup: inner.host.cgroups.has_pids(),
        steps: step_fds,
        status_read: status_read.as_raw_fd(),
        status_write: status_write.as_raw_fd(),
        seccomp: inner.seccomp.clone(),
        proc_areas: inner.proc_areas,
        netns: netns.as_ref().map(AsRawFd::as_raw_fd),
        spares: inner.spares.lock().ok().and_then(|mut s| s.take()),
        ahead: go.as_ref().map(|(read, wait_ms)| crate::plan::Ahead {
            go: read.as_raw_fd(),
            wait_ms: *wait_ms,
            files_bytes: config.max_source_bytes as u64,
        }),
        held: Held {
            ios,
            status_read,
            status_write,
            netns,
            go: go.map(|(read, _)| read),
        },
    })
}

/// Has the spawner thread make the cgroups and clone the init. The cgroups come back
/// even when spawning failed, so that the run's cleanup removes them.
async fn spawn(inner: &Inner, recipe: Recipe) -> SpawnReply {
    let (reply, rx) = oneshot::channel();
    let sent = match inner.spawner.lock() {
        Ok(tx) => tx
            .send(Job::Spawn(Box::new(SpawnJob { recipe, reply })))
            .map_err(|_| SandboxError::Internal("the spawner thread is gone")),
        Err(_) => Err(SandboxError::Internal("the spawner lock is poisoned")),
    };
    if let Err(e) = sent {
        return (Vec::new(), None, Err(e));
    }
    rx.await.unwrap_or_else(|_| {
        (
            Vec::new(),
            None,
            Err(SandboxError::Internal("the spawner thread is gone")),
        )
    })
}

enum Event {
    Output(Stream, Vec<u8>),
    OutputLimit,
    /// An output pipe reached its end (every writer is gone).
    OutputClosed,
    Record(Record),
}

/// What `watch` returns besides the step states it filled in.
struct Watched {
    failure: Option<Record>,
    killed: Option<KillReason>,
    outputs: [Vec<u8>; 3],
    truncated: bool,
    /// The init reported [`record::DONE`] and is exiting, not yet reaped.
    init_done: bool,
}

/// Streams output, follows the status records, enforces wall time, CPU time, output and
/// cancel, until every output pipe is closed and the init has reported that the run is
/// over ([`record::DONE`]; it is then left to exit on its own), or else until every pipe
/// is closed; then reaps the init.
async fn watch(
    steps: &mut [Step],
    status_read: OwnedFd,
    pidfd: tokio::io::unix::AsyncFd<OwnedFd>,
    chunks: &mpsc::UnboundedSender<OutputChunk>,
    cancel: &CancellationToken,
) -> Result<Watched, SandboxError> {
    let (ev_tx, mut ev_rx) = mpsc::unbounded_channel::<Event>();
    let wrap = |e| SandboxError::io("pipe", e);
    let mut open_outputs = 0usize;
    for step in steps.iter_mut() {
        drop(step.io.child.take());
        for (stream, fd) in step.io.readers.drain(..) {
            let limit = step.limits.output_bytes;
            let rx = pipe::Receiver::from_owned_fd(fd).map_err(wrap)?;
            tokio::spawn(read_stream(stream, rx, limit, ev_tx.clone()));
            open_outputs += 1;
        }
        if let Some((fd, data)) = step.io.stdin.take() {
            let mut tx = pipe::Sender::from_owned_fd(fd).map_err(wrap)?;
            tokio::spawn(async move {
                // A program that exits without reading its input closes the pipe: fine.
                let _ = tx.write_all(&data).await;
            });
        }
    }
    let rx = pipe::Receiver::from_owned_fd(status_read).map_err(wrap)?;
    tokio::spawn(read_status(rx, ev_tx));

    let t0 = Instant::now();
    let mut seen = Watched {
        failure: None,
        killed: None,
        outputs: [Vec::new(), Vec::new(), Vec::new()],
        truncated: false,
        init_done: false,
    };
    let mut init_exited = false;
    let kill = |reason: KillReason, killed: &mut Option<KillReason>| {
        if killed.is_none() {
            *killed = Some(reason);
        }
        sys::kill(pidfd.get_ref());
    };
    while !(seen.init_done && open_outputs == 0) {
        let current = steps
            .iter()
            .position(|s| s.state.started.is_some() && s.state.ended.is_none());
        let deadline = current
            .and_then(|i| {
                let st = &steps[i];
                st.state
                    .started
                    .map(|t| t + Duration::from_millis(st.limits.wall_time_ms))
            })
            .unwrap_or_else(|| Instant::now() + Duration::from_secs(3600));
        let tick = (Instant::now() + Duration::from_millis(50)).min(deadline);
        tokio::select! {
            ev = ev_rx.recv() => match ev {
                None => break,
                Some(Event::Output(stream, data)) => {
                    seen.outputs[stream_index(stream)].extend_from_slice(&data);
                    let _ = chunks.send(OutputChunk { stream, at: t0.elapsed(), data });
                }
                Some(Event::OutputLimit) => {
                    seen.truncated = true;
                    kill(KillReason::Output, &mut seen.killed);
                }
                Some(Event::OutputClosed) => open_outputs = open_outputs.saturating_sub(1),
                Some(Event::Record(r)) => {
                    let i = usize::from(r.step).min(steps.len() - 1);
                    let state = &mut steps[i].state;
                    match r.kind {
                        record::STARTED => state.started = Some(Instant::now()),
                        record::EXITED => {
                            state.ended = Some(Instant::now());
                            state.exit = Some(r);
                        }
                        record::DONE => seen.init_done = true,
                        _ => seen.failure = Some(r),
                    }
                }
            },
            r = pidfd.readable(), if !init_exited => {
                if let Ok(mut guard) = r {
                    guard.clear_ready();
                }
                init_exited = true;
            }
            _ = tokio::time::sleep_until(tick.into()) => {
                if let Some(i) = current {
                    if Instant::now() >= deadline {
                        kill(KillReason::WallTime, &mut seen.killed);
                    } else if let Some(cg) = &steps[i].cgroup
                        && cg.cpu_usage_us().is_some_and(|us| us >= steps[i].limits.cpu_time_ms * 1000)
                    {
                        kill(KillReason::CpuTime, &mut seen.killed);
                    }
                }
            }
            _ = cancel.cancelled(), if seen.killed != Some(KillReason::Cancelled) => {
                kill(KillReason::Cancelled, &mut seen.killed);
            }
        }
    }
    if seen.init_done {
        return Ok(seen);
    }
    // Every pipe is closed: the init has exited (or is exiting). Reap it.
    loop {
        if !init_exited {
            // The pidfd becomes readable once the init is a zombie.
            if let Ok(mut guard) = pidfd.readable().await {
                guard.clear_ready();
            }
        }
        match sys::try_reap(pidfd.get_ref()) {
            Ok(true) => break,
            Ok(false) => init_exited = false,
            Err(e) => return Err(SandboxError::io("waiting for the sandbox", e)),
        }
    }
    Ok(seen)
}

/// Usage of each step that started, from its cgroup or else the init's rusage.
fn measure(steps: &[Step]) -> Vec<StepSeen> {
    steps
        .iter()
        .filter(|s| s.state.started.is_some())
        .map(|s| {
            let rec = s.state.exit.unwrap_or_default();
            let cg = s.cgroup.as_ref();
            let cpu_us = cg
                .and_then(StepCgroup::cpu_usage_us)
                .unwrap_or(rec.a + rec.b);
            let memory_kb = cg.and_then(StepCgroup::memory_peak_kb).unwrap_or(rec.c);
            let memory_hit = match cg {
                Some(cg) => cg.hit_memory_limit(),
                // Without a memory cgroup, RLIMIT_DATA made an allocation fail: judge by
                // the largest process's peak RSS.
                None => memory_kb * 10 >= (s.limits.memory_mb << 10) * 9,
            };
            StepSeen {
                compile: s.compile,
                limits: s.limits,
                status: s.state.exit.map(|r| r.value),
                cpu_ms: cpu_us / 1000,
                memory_kb,
                wall_ms: s.state.wall_ms(),
                memory_hit,
            }
        })
        .collect()
}

fn stream_index(s: Stream) -> usize {
    match s {
        Stream::Compile => 0,
        Stream::Stdout => 1,
        Stream::Stderr => 2,
    }
}

async fn read_stream(
    stream: Stream,
    mut rx: pipe::Receiver,
    limit: u64,
    events: mpsc::UnboundedSender<Event>,
) {
    let mut total: u64 = 0;
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        match rx.read(&mut buf).await {
            Ok(0) | Err(_) => {
                let _ = events.send(Event::OutputClosed);
                return;
            }
            Ok(n) => {
                let room = limit.saturating_sub(total);
                let take = (n as u64).min(room) as usize;
                total += n as u64;
                if take > 0 {
                    let _ = events.send(Event::Output(stream, buf[..take].to_vec()));
                }
                if total > limit {
                    let _ = events.send(Event::OutputLimit);
                    // Keep draining so the program is not blocked before it dies.
                }
            }
        }
    }
}

async fn read_status(mut rx: pipe::Receiver, events: mpsc::UnboundedSender<Event>) {
    let mut buf = [0u8; Record::SIZE];
    while rx.read_exact(&mut buf).await.is_ok() {
        let _ = events.send(Event::Record(Record::from_bytes(&buf)));
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;
    use std::process::{Child, Command};

    use super::*;

    /// A stand-in for a sandbox's init: an ordinary child process (its pidfd is what
    /// `watch` waits on), a status pipe we write the init's records into, and one output
    /// pipe standing for the program's stdout.
    struct FakeInit {
        child: Child,
        status: Option<std::fs::File>,
        stdout: Option<std::fs::File>,
        /// Reaped by `watch`: its pid may be reused, so it must not be signalled.
        reaped: bool,
    }

    fn start() -> (
        FakeInit,
        Vec<Step>,
        OwnedFd,
        tokio::io::unix::AsyncFd<OwnedFd>,
    ) {
        let child = Command::new("sleep").arg("30").spawn().expect("sleep");
        let pidfd = sys::watch(sys::pidfd_open(child.id()).expect("pidfd")).expect("watch");
        let (status_r, status_w) = sys::pipe().expect("pipe");
        let (out_r, out_w) = sys::pipe().expect("pipe");
        let step = Step {
            compile: false,
            limits: Limits::default(),
            cgroup: None,
            io: StepIo {
                readers: vec![(Stream::Stdout, out_r)],
                stdin: None,
                child: None,
            },
            state: StepState::default(),
        };
        let init = FakeInit {
            child,
            status: Some(std::fs::File::from(status_w)),
            stdout: Some(std::fs::File::from(out_w)),
            reaped: false,
        };
        (init, vec![step], status_r, pidfd)
    }

    impl FakeInit {
        fn say(&mut self, kind: u8) {
            let rec = Record {
                kind,
                ..Record::default()
            };
            let status = self.status.as_mut().expect("status pipe open");
            status.write_all(&rec.to_bytes()).expect("write record");
        }
    }

    impl Drop for FakeInit {
        fn drop(&mut self) {
            if self.reaped {
                return;
            }
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }

    async fn settles(task: &tokio::task::JoinHandle<Result<Watched, SandboxError>>) -> bool {
        tokio::time::sleep(Duration::from_millis(300)).await;
        task.is_finished()
    }

    /// Output pipes get the size asked for, or else `fs.pipe-max-size`: the first time
    /// (when a refusal teaches that the host caps them) and every time after.
    #[test]
    fn output_pipes_are_as_large_as_the_host_allows_every_time() {
        let want = 2 << 20;
        for i in 0..3 {
            let (_r, w) = sys::pipe().expect("pipe");
            let size = grow_pipe(&w, want);
            assert!(
                size == want || size == pipe_max_size().min(want),
                "pipe {i}: {size} bytes"
            );
            assert!(
                size >= (1 << 20).min(pipe_max_size()),
                "pipe {i}: {size} bytes"
            );
        }
    }

    /// Once the init said the run is over and the program's output is all in, the run
    /// ends without waiting for the init's own exit.
    #[tokio::test]
    async fn done_and_closed_output_end_the_watch_before_the_init_exits() {
        let (mut init, mut steps, status, pidfd) = start();
        let (chunks, _rx) = mpsc::unbounded_channel();
        let cancel = CancellationToken::new();
        let task =
            tokio::spawn(async move { watch(&mut steps, status, pidfd, &chunks, &cancel).await });
        init.say(record::STARTED);
        init.stdout
            .as_mut()
            .expect("stdout")
            .write_all(b"hi\n")
            .expect("write");
        init.say(record::EXITED);
        init.say(record::DONE);
        assert!(
            !settles(&task).await,
            "the program's stdout is still open: its output is not all in"
        );
        drop(init.stdout.take());
        let seen = tokio::time::timeout(Duration::from_secs(5), task)
            .await
            .expect("the watch ends once the output is closed")
            .expect("task")
            .expect("watched");
        assert!(seen.init_done);
        assert_eq!(seen.outputs[stream_index(Stream::Stdout)], b"hi\n");
        assert!(
            init.child.try_wait().expect("try_wait").is_none(),
            "the init is still alive: nobody waited for it"
        );
    }

    /// Without the init's last word (it was killed, or died), the watch lasts until the
    /// init has exited and is reaped.
    #[tokio::test]
    async fn without_done_the_watch_waits_for_the_init_to_exit() {
        let (mut init, mut steps, status, pidfd) = start();
        let (chunks, _rx) = mpsc::unbounded_channel();
        let cancel = CancellationToken::new();
        let task =
            tokio::spawn(async move { watch(&mut steps, status, pidfd, &chunks, &cancel).await });
        init.say(record::STARTED);
        init.say(record::EXITED);
        drop(init.stdout.take());
        assert!(!settles(&task).await, "the init has not exited yet");
        drop(init.status.take());
        init.child.kill().expect("kill");
        let seen = tokio::time::timeout(Duration::from_secs(5), task)
            .await
            .expect("the watch ends once the init is gone")
            .expect("task")
            .expect("watched");
        assert!(!seen.init_done);
        // `watch` reaped it through its pidfd: there is no child left to wait for.
        assert!(init.child.try_wait().is_err(), "reaped by the watch");
        init.reaped = true;
    }
}
