//! The public entry point: a [`Sandbox`] with a bounded queue, whose [`Sandbox::run`]
//! gives a [`RunHandle`] streaming output chunks and ending with a [`RunOutcome`].

use std::collections::BTreeSet;
use std::ffi::CString;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::unix::pipe;
use tokio::sync::{Semaphore, mpsc, oneshot};
use tokio_util::sync::CancellationToken;

use crate::cgroup::{CgroupLimits, StepCgroup};
use crate::config::{Limits, RunRequest, SandboxConfig};
use crate::error::SandboxError;
use crate::host::{HostReport, Mode};
use crate::language::Language;
use crate::outcome::{OutputChunk, RunOutcome, Stream, Verdict};
use crate::plan::{Plan, Record, Stage, StepPlan, cstring, record};
use crate::rootfs;
use crate::seccomp::{self, Bpf};
use crate::spawn::{self, Spawned};

/// Runs untrusted programs, a bounded number at a time. Cheap to clone.
#[derive(Clone)]
pub struct Sandbox {
    inner: Arc<Inner>,
}

struct Inner {
    config: SandboxConfig,
    host: HostReport,
    mode: Mode,
    /// Fresh network namespaces made by a background thread (root mode only; empty
    /// when it cannot keep up, and then `clone` makes one).
    netns: Mutex<std::sync::mpsc::Receiver<OwnedFd>>,
    /// Where the server's argv/environ strings live, wiped in every init.
    proc_areas: Option<spawn::ProcAreas>,
    /// Compiled once; copied into every child.
    seccomp: Vec<Bpf>,
    /// One permit per run allowed to execute at once.
    permits: Arc<Semaphore>,
    /// Free slot numbers; a run's uid is `uid_base + slot`.
    slots: Mutex<Vec<u32>>,
    /// Runs accepted and not finished (waiting or running), for the queue bound.
    accepted: AtomicUsize,
    /// The thread that `clone`s every sandbox, so each init's parent thread lives as
    /// long as the sandbox (PR_SET_PDEATHSIG fires when the parent *thread* exits).
    spawner: Mutex<std::sync::mpsc::Sender<SpawnJob>>,
}

struct SpawnJob {
    plan: Arc<Plan>,
    reply: oneshot::Sender<std::io::Result<Spawned>>,
}

impl Sandbox {
    /// Checks the host, compiles the seccomp filters and starts the spawner thread.
    /// Fails if the host cannot give the essential protections (namespaces, seccomp);
    /// protections it gives only partly are listed in [`Sandbox::host`] and logged.
    pub fn new(config: SandboxConfig) -> Result<Self, SandboxError> {
        let host = HostReport::probe(config.cgroup_parent.as_deref());
        let Some(mode) = host.mode else {
            return Err(SandboxError::Unsupported(host.missing.join("; ")));
        };
        if !host.seccomp {
            return Err(SandboxError::Unsupported(
                "the kernel has no seccomp".into(),
            ));
        }
        for m in &host.missing {
            tracing::warn!("sandbox protection missing: {m}");
        }
        for note in &host.cgroups.notes {
            tracing::info!("sandbox: {note}");
        }
        crate::cgroup::sweep_stale(&host.cgroups);
        std::fs::create_dir_all(&config.root_dir)
            .map_err(|e| SandboxError::io(format!("creating {}", config.root_dir.display()), e))?;
        // The mount point must be a plain directory of ours, not a symlink planted by
        // another user of a shared temp dir.
        let meta = std::fs::symlink_metadata(&config.root_dir)
            .map_err(|e| SandboxError::io(format!("checking {}", config.root_dir.display()), e))?;
        if !meta.is_dir() || std::os::unix::fs::MetadataExt::uid(&meta) != spawn::euid_egid().0 {
            return Err(SandboxError::Unsupported(format!(
                "{} must be a directory owned by this user",
                config.root_dir.display()
            )));
        }
        let seccomp = seccomp::filters()?;
        let (tx, rx) = std::sync::mpsc::channel::<SpawnJob>();
        std::thread::Builder::new()
            .name("sandbox-spawner".into())
            .spawn(move || {
                while let Ok(job) = rx.recv() {
                    let _ = job.reply.send(spawn::spawn(&job.plan));
                }
            })
            .map_err(|e| SandboxError::io("starting the spawner thread", e))?;
        let concurrency = config.concurrency.max(1);
        let (netns_tx, netns_rx) = std::sync::mpsc::sync_channel::<OwnedFd>(concurrency + 1);
        if mode == Mode::Root {
            std::thread::Builder::new()
                .name("sandbox-netns".into())
                .spawn(move || {
                    // Blocks while the pool is full; ends when the sandbox is dropped.
                    while let Ok(fd) = spawn::make_netns() {
                        if netns_tx.send(fd).is_err() {
                            break;
                        }
                    }
                })
                .map_err(|e| SandboxError::io("starting the netns thread", e))?;
        }
        Ok(Sandbox {
            inner: Arc::new(Inner {
                permits: Arc::new(Semaphore::new(concurrency)),
                slots: Mutex::new((0..concurrency as u32).rev().collect()),
                accepted: AtomicUsize::new(0),
                spawner: Mutex::new(tx),
                seccomp,
                proc_areas: spawn::ProcAreas::of_self(),
                netns: Mutex::new(netns_rx),
                mode,
                host,
                config,
            }),
        })
    }

    /// What this host provides (for `peercode doctor` and start-up logs).
    pub fn host(&self) -> &HostReport {
        &self.inner.host
    }

    /// The configuration this sandbox was built with.
    pub fn config(&self) -> &SandboxConfig {
        &self.inner.config
    }

    /// Starts a run (or queues it). Must be called inside a tokio runtime. Refuses with
    /// [`SandboxError::Busy`] when `concurrency + queue` runs are already accepted.
    pub fn run(&self, request: RunRequest) -> Result<RunHandle, SandboxError> {
        let language = self
            .inner
            .config
            .languages
            .get(&request.language)
            .filter(|l| l.missing().is_empty())
            .cloned()
            .ok_or_else(|| SandboxError::UnknownLanguage(request.language.clone()))?;
        self.run_language(request, language)
    }

    /// Like [`Sandbox::run`] with a language entry that is not in the table.
    pub(crate) fn run_language(
        &self,
        request: RunRequest,
        language: Language,
    ) -> Result<RunHandle, SandboxError> {
        let inner = &self.inner;
        request.limits.check_within(&inner.config.max_limits)?;
        if request.source.len() > inner.config.max_source_bytes {
            return Err(SandboxError::SourceTooLarge {
                size: request.source.len(),
                max: inner.config.max_source_bytes,
            });
        }
        let capacity = inner.config.concurrency.max(1) + inner.config.queue;
        let accepted = inner.accepted.fetch_add(1, Ordering::SeqCst);
        if accepted >= capacity {
            inner.accepted.fetch_sub(1, Ordering::SeqCst);
            let running = inner.config.concurrency.max(1) - inner.permits.available_permits();
            return Err(SandboxError::Busy {
                running,
                queued: accepted.saturating_sub(running),
            });
        }
        let (chunks_tx, chunks_rx) = mpsc::unbounded_channel();
        let (outcome_tx, outcome_rx) = oneshot::channel();
        let cancel = CancellationToken::new();
        let task_inner = Arc::clone(inner);
        let task_cancel = cancel.clone();
        tokio::spawn(async move {
            let result = execute(&task_inner, request, language, chunks_tx, task_cancel).await;
            task_inner.accepted.fetch_sub(1, Ordering::SeqCst);
            let _ = outcome_tx.send(result);
        });
        Ok(RunHandle {
            chunks: chunks_rx,
            outcome: outcome_rx,
            cancel,
        })
    }
}

/// A run in progress. Dropping it cancels the run.
pub struct RunHandle {
    chunks: mpsc::UnboundedReceiver<OutputChunk>,
    outcome: oneshot::Receiver<Result<RunOutcome, SandboxError>>,
    cancel: CancellationToken,
}

impl RunHandle {
    /// The next piece of output while the program runs; `None` once all output is in.
    pub async fn next_chunk(&mut self) -> Option<OutputChunk> {
        self.chunks.recv().await
    }

    /// A token that cancels this run; clone it to cancel from elsewhere.
    pub fn canceller(&self) -> CancellationToken {
        self.cancel.clone()
    }

    /// Kills the run. Its outcome becomes [`SandboxError::Cancelled`].
    pub fn cancel(&self) {
        self.cancel.cancel();
    }

    /// Waits for the run to end. Chunks not yet taken stay readable via the output
    /// fields of the outcome.
    pub async fn outcome(mut self) -> Result<RunOutcome, SandboxError> {
        let rx = std::mem::replace(&mut self.outcome, oneshot::channel().1);
        rx.await.unwrap_or(Err(SandboxError::Cancelled))
    }
}

impl Drop for RunHandle {
    fn drop(&mut self) {
        // `outcome()` moved the receiver out; a finished run ignores the cancel.
        self.cancel.cancel();
    }
}

/// Why the supervisor killed the run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum KillReason {
    WallTime,
    CpuTime,
    Output,
    Cancelled,
}

/// Owns everything a live run holds on the host; dropping it (also on panic or task
/// abort) kills the sandbox, reaps it and removes its cgroups.
struct Live {
    pidfd: Option<OwnedFd>,
    /// Per step; removed after the init is reaped (field order: dropped after `pidfd`
    /// is handled in `Drop`).
    cgroups: Vec<Option<StepCgroup>>,
    slot: Option<(Arc<Inner>, u32)>,
}

impl Drop for Live {
    fn drop(&mut self) {
        if let Some(fd) = self.pidfd.take() {
            spawn::kill(&fd);
            spawn::reap_blocking(&fd);
        }
        for cg in self.cgroups.drain(..).flatten() {
            if let Err(e) = cg.remove() {
                tracing::warn!("sandbox cleanup: {e}");
            }
        }
        if let Some((inner, slot)) = self.slot.take()
            && let Ok(mut slots) = inner.slots.lock()
        {
            slots.push(slot);
        }
    }
}

enum Event {
    Output(Stream, Vec<u8>),
    OutputLimit,
    Record(Record),
}

struct StepState {
    started: Option<Instant>,
    ended: Option<Instant>,
    exit: Option<Record>,
}

/// One step's host-side pipe ends and cgroup, and the child-side ends the plan refers to.
struct StepIo {
    /// Host side: `(stream, read end)`.
    readers: Vec<(Stream, OwnedFd)>,
    /// Host side: write end of stdin, with what to write.
    stdin: Option<(OwnedFd, Vec<u8>)>,
    /// Child side, closed by the host once the sandbox is spawned.
    child_fds: Vec<OwnedFd>,
}

async fn execute(
    inner: &Arc<Inner>,
    request: RunRequest,
    language: Language,
    chunks: mpsc::UnboundedSender<OutputChunk>,
    cancel: CancellationToken,
) -> Result<RunOutcome, SandboxError> {
    let permit = tokio::select! {
        p = Arc::clone(&inner.permits).acquire_owned() => {
            p.map_err(|_| SandboxError::Unsupported("sandbox shut down".into()))?
        }
        _ = cancel.cancelled() => return Err(SandboxError::Cancelled),
    };
    let slot = inner
        .slots
        .lock()
        .ok()
        .and_then(|mut s| s.pop())
        .ok_or_else(|| SandboxError::Unsupported("no free sandbox slot".into()))?;
    let mut live = Live {
        pidfd: None,
        cgroups: Vec::new(),
        slot: Some((Arc::clone(inner), slot)),
    };
    let result = supervise(
        inner, &mut live, slot, &request, &language, &chunks, &cancel,
    )
    .await;
    drop(live);
    drop(permit);
    result
}

fn step_limits(language: &Language, config: &SandboxConfig, run: &Limits) -> Vec<Limits> {
    match language.compile {
        Some(_) => vec![config.compile_limits, *run],
        None => vec![*run],
    }
}

#[allow(clippy::too_many_arguments)]
async fn supervise(
    inner: &Arc<Inner>,
    live: &mut Live,
    slot: u32,
    request: &RunRequest,
    language: &Language,
    chunks: &mpsc::UnboundedSender<OutputChunk>,
    cancel: &CancellationToken,
) -> Result<RunOutcome, SandboxError> {
    let config = &inner.config;
    let limits = step_limits(language, config, &request.limits);
    let compiled = language.compile.is_some();

    for l in &limits {
        live.cgroups.push(StepCgroup::create(
            &inner.host.cgroups,
            CgroupLimits {
                memory_bytes: l.memory_mb << 20,
                pids: l.processes,
                cpu_quota_us: l.cpu_quota_percent * 1000,
            },
        )?);
    }

    let (status_r, status_w) = spawn::pipe().map_err(|e| SandboxError::io("pipe", e))?;
    let mut ios = Vec::new();
    for (i, _) in limits.iter().enumerate() {
        let is_compile = compiled && i == 0;
        let (in_r, in_w) = spawn::pipe().map_err(|e| SandboxError::io("pipe", e))?;
        let (out_r, out_w) = spawn::pipe().map_err(|e| SandboxError::io("pipe", e))?;
        if is_compile {
            ios.push(StepIo {
                readers: vec![(Stream::Compile, out_r)],
                stdin: None, // closed: the compiler reads EOF
                child_fds: vec![in_r, out_w],
            });
            drop(in_w);
        } else {
            let (err_r, err_w) = spawn::pipe().map_err(|e| SandboxError::io("pipe", e))?;
            ios.push(StepIo {
                readers: vec![(Stream::Stdout, out_r), (Stream::Stderr, err_r)],
                stdin: Some((in_w, request.stdin.clone())),
                child_fds: vec![in_r, out_w, err_w],
            });
        }
    }

    let netns: Option<OwnedFd> = inner.netns.lock().ok().and_then(|rx| rx.try_recv().ok());
    let mut plan = build_plan(
        inner,
        slot,
        request,
        language,
        &limits,
        &live.cgroups,
        &ios,
        &status_r,
        &status_w,
    )?;

    if let Some(fd) = &netns {
        plan.netns = Some(fd.as_raw_fd());
        plan.keep_fds.push(fd.as_raw_fd());
        plan.keep_fds.sort_unstable();
    }
    let (reply_tx, reply_rx) = oneshot::channel();
    inner
        .spawner
        .lock()
        .map_err(|_| SandboxError::Unsupported("spawner thread poisoned".into()))?
        .send(SpawnJob {
            plan: Arc::new(plan),
            reply: reply_tx,
        })
        .map_err(|_| SandboxError::Unsupported("spawner thread gone".into()))?;
    let spawned = reply_rx
        .await
        .map_err(|_| SandboxError::Unsupported("spawner thread gone".into()))?
        .map_err(|e| SandboxError::io("clone into new namespaces", e))?;
    let t0 = Instant::now();
    tracing::debug!(pid = spawned.pid, "sandbox started");
    // The guard keeps its own handle on the init, so that dropping this future (task
    // aborted, runtime shut down, panic) still kills and reaps it.
    live.pidfd = Some(
        spawned
            .pidfd
            .try_clone()
            .map_err(|e| SandboxError::io("dup pidfd", e))?,
    );
    let pid_async = spawn::watch(spawned.pidfd).map_err(|e| SandboxError::io("pidfd", e))?;
    // Child-side ends now live in the sandbox only.
    drop(status_w);
    drop(netns);
    let mut readers = Vec::new();
    let mut stdin_writers = Vec::new();
    for io in ios {
        drop(io.child_fds);
        readers.extend(io.readers);
        if let Some(s) = io.stdin {
            stdin_writers.push(s);
        }
    }

    let (ev_tx, mut ev_rx) = mpsc::unbounded_channel::<Event>();
    let out_limit = |s: Stream| match s {
        Stream::Compile => config.compile_limits.output_bytes,
        _ => request.limits.output_bytes,
    };
    for (stream, fd) in readers {
        let rx = pipe::Receiver::from_owned_fd(fd).map_err(|e| SandboxError::io("pipe", e))?;
        tokio::spawn(read_stream(stream, rx, out_limit(stream), ev_tx.clone()));
    }
    {
        let rx =
            pipe::Receiver::from_owned_fd(status_r).map_err(|e| SandboxError::io("pipe", e))?;
        tokio::spawn(read_status(rx, ev_tx.clone()));
    }
    drop(ev_tx);
    for (fd, data) in stdin_writers {
        let tx = pipe::Sender::from_owned_fd(fd).map_err(|e| SandboxError::io("pipe", e))?;
        tokio::spawn(async move {
            let mut tx = tx;
            // A program that exits without reading its input closes the pipe: fine.
            let _ = tx.write_all(&data).await;
        });
    }

    let mut steps: Vec<StepState> = limits
        .iter()
        .map(|_| StepState {
            started: None,
            ended: None,
            exit: None,
        })
        .collect();
    let mut failure: Option<Record> = None;
    let mut killed: Option<KillReason> = None;
    let mut outputs: [Vec<u8>; 3] = [Vec::new(), Vec::new(), Vec::new()];
    let mut truncated = false;
    let mut init_exited = false;
    let kill = |reason: KillReason, killed: &mut Option<KillReason>| {
        if killed.is_none() {
            *killed = Some(reason);
        }
        spawn::kill(pid_async.get_ref());
    };

    loop {
        let current = steps
            .iter()
            .position(|s| s.started.is_some() && s.ended.is_none());
        let deadline = current
            .and_then(|i| steps[i].started.map(|t| t + ms(limits[i].wall_time_ms)))
            .unwrap_or_else(|| Instant::now() + Duration::from_secs(3600));
        let tick = (Instant::now() + Duration::from_millis(50)).min(deadline);
        tokio::select! {
            ev = ev_rx.recv() => match ev {
                None => break,
                Some(Event::Output(stream, data)) => {
                    let idx = stream_index(stream);
                    outputs[idx].extend_from_slice(&data);
                    let _ = chunks.send(OutputChunk { stream, at: t0.elapsed(), data });
                }
                Some(Event::OutputLimit) => {
                    truncated = true;
                    kill(KillReason::Output, &mut killed);
                }
                Some(Event::Record(r)) => {
                    let i = usize::from(r.step).min(steps.len() - 1);
                    match r.kind {
                        record::STARTED => steps[i].started = Some(Instant::now()),
                        record::EXITED => {
                            steps[i].ended = Some(Instant::now());
                            steps[i].exit = Some(r);
                        }
                        _ => failure = Some(r),
                    }
                }
            },
            r = pid_async.readable(), if !init_exited => {
                if let Ok(mut guard) = r {
                    guard.clear_ready();
                }
                init_exited = true;
            }
            _ = tokio::time::sleep_until(tick.into()) => {
                if let Some(i) = current {
                    if Instant::now() >= deadline {
                        kill(KillReason::WallTime, &mut killed);
                    } else if let Some(cg) = &live.cgroups[i]
                        && cg.cpu_usage_us().is_some_and(|us| us >= limits[i].cpu_time_ms * 1000)
                    {
                        kill(KillReason::CpuTime, &mut killed);
                    }
                }
            }
            _ = cancel.cancelled(), if killed != Some(KillReason::Cancelled) => {
                kill(KillReason::Cancelled, &mut killed);
            }
        }
    }
    // Every pipe is closed: the init has exited (or is exiting). Reap it.
    loop {
        if !init_exited {
            // The pidfd becomes readable once the init is a zombie.
            if let Ok(mut guard) = pid_async.readable().await {
                guard.clear_ready();
            }
        }
        match spawn::try_reap(pid_async.get_ref()) {
            Ok(true) => break,
            Ok(false) => init_exited = false,
            Err(e) => return Err(SandboxError::io("waiting for the sandbox", e)),
        }
    }
    let fd = pid_async.into_inner();
    drop(fd);
    live.pidfd = None; // reaped: nothing left to kill
    if killed == Some(KillReason::Cancelled) {
        return Err(SandboxError::Cancelled);
    }

    Ok(judge(
        inner,
        language,
        &limits,
        &live.cgroups,
        Observed {
            steps,
            failure,
            killed,
            outputs,
            truncated,
        },
    ))
}

/// What the supervisor saw of a run that was not cancelled.
struct Observed {
    steps: Vec<StepState>,
    /// A setup failure reported by the init or a step before `execve`.
    failure: Option<Record>,
    killed: Option<KillReason>,
    /// Compile output, stdout, stderr (each at most its limit).
    outputs: [Vec<u8>; 3],
    truncated: bool,
}

/// Turns what happened into the outcome: verdict, status, usage, output.
fn judge(
    inner: &Inner,
    language: &Language,
    limits: &[Limits],
    cgroups: &[Option<StepCgroup>],
    seen: Observed,
) -> RunOutcome {
    let Observed {
        steps,
        failure,
        killed,
        outputs,
        truncated,
    } = seen;
    let compiled = language.compile.is_some();
    let usage: Vec<(u64, u64)> = cgroups
        .iter()
        .zip(&steps)
        .map(|(cg, st)| {
            let rec = st.exit.unwrap_or_default();
            let cpu = cg
                .as_ref()
                .and_then(StepCgroup::cpu_usage_us)
                .unwrap_or(rec.a + rec.b);
            let mem = cg
                .as_ref()
                .and_then(StepCgroup::memory_peak_kb)
                .unwrap_or(rec.c);
            (cpu / 1000, mem)
        })
        .collect();
    let mem_hit: Vec<bool> = cgroups
        .iter()
        .zip(&usage)
        .zip(limits)
        .map(|((cg, &(_, peak_kb)), lim)| match cg {
            Some(cg) => cg.hit_memory_limit(),
            // Without a memory cgroup, RLIMIT_DATA made an allocation fail: judge by
            // the largest process's peak RSS.
            None => peak_kb * 10 >= (lim.memory_mb << 10) * 9,
        })
        .collect();

    let [compile_out, stdout, stderr] = outputs;
    let text = |v: Vec<u8>| String::from_utf8_lossy(&v).into_owned();
    let mut outcome = RunOutcome {
        verdict: Verdict::InternalError,
        exit_code: None,
        signal: None,
        stdout: text(stdout),
        stderr: text(stderr),
        cpu_ms: 0,
        wall_ms: 0,
        memory_kb: 0,
        compile_output: compiled.then(|| text(compile_out)),
        truncated,
        message: None,
    };

    if let Some(f) = failure {
        let stage = Stage::from_u16(f.stage);
        let errno = std::io::Error::from_raw_os_error(f.value);
        let detail = match f.stage {
            s if s == Stage::FsOp as u16 => plan_op_name(inner, language, f.a),
            s if s == Stage::Exec as u16 => format!(
                " ({})",
                language_step_program(language, usize::from(f.step), compiled)
            ),
            _ => String::new(),
        };
        outcome.message = Some(format!(
            "sandbox setup failed while {stage}{detail}: {errno}"
        ));
        tracing::error!("{}", outcome.message.as_deref().unwrap_or_default());
        return outcome;
    }

    // The compile step decides alone if it failed.
    if compiled {
        let st = &steps[0];
        let ok = st
            .exit
            .is_some_and(|r| libc::WIFEXITED(r.value) && libc::WEXITSTATUS(r.value) == 0);
        if !ok {
            outcome.verdict = Verdict::CompileError;
            let why = match (killed, mem_hit[0]) {
                (Some(KillReason::WallTime | KillReason::CpuTime), _) => {
                    Some("the compiler exceeded its time limit")
                }
                (Some(KillReason::Output), _) => Some("the compiler's output exceeded its limit"),
                (_, true) => Some("the compiler exceeded its memory limit"),
                _ => None,
            };
            outcome.message = why.map(str::to_owned);
            if let Some(r) = st.exit {
                fill_status(&mut outcome, r.value);
            }
            outcome.cpu_ms = usage[0].0;
            outcome.memory_kb = usage[0].1;
            outcome.wall_ms = wall(st);
            return outcome;
        }
    }

    let run_i = steps.len() - 1;
    let st = &steps[run_i];
    let lim = &limits[run_i];
    outcome.cpu_ms = usage[run_i].0;
    outcome.memory_kb = usage[run_i].1;
    outcome.wall_ms = wall(st);
    let Some(exit) = st.exit else {
        outcome.message = Some("the sandbox ended without reporting the program's status".into());
        if let Some(reason) = killed {
            // The supervisor killed the whole sandbox: the program died of SIGKILL.
            outcome.verdict = verdict_for_kill(reason);
            outcome.signal = Some(libc::SIGKILL);
            outcome.message = Some(kill_message(reason, lim));
        }
        return outcome;
    };
    fill_status(&mut outcome, exit.value);
    let signal = outcome.signal;
    outcome.verdict = if let Some(reason) = killed {
        verdict_for_kill(reason)
    } else if outcome.cpu_ms >= lim.cpu_time_ms || signal == Some(libc::SIGXCPU) {
        Verdict::TimeLimit
    } else if outcome.exit_code == Some(0) {
        Verdict::Ok
    } else if mem_hit[run_i] {
        Verdict::MemoryLimit
    } else if signal == Some(libc::SIGXFSZ) {
        Verdict::OutputLimit
    } else {
        Verdict::RuntimeError
    };
    match outcome.verdict {
        Verdict::TimeLimit if killed == Some(KillReason::WallTime) => {
            outcome.message = Some(format!("wall time limit of {} ms", lim.wall_time_ms));
        }
        Verdict::TimeLimit => {
            outcome.message = Some(format!("CPU time limit of {} ms", lim.cpu_time_ms));
        }
        Verdict::MemoryLimit => {
            outcome.message = Some(format!("memory limit of {} MiB", lim.memory_mb));
        }
        Verdict::OutputLimit if truncated => {
            outcome.message = Some(format!("output limit of {} bytes", lim.output_bytes));
        }
        Verdict::OutputLimit => {
            outcome.message = Some(format!("file size limit of {} bytes", lim.file_bytes));
        }
        _ => {}
    }
    outcome
}

fn kill_message(reason: KillReason, lim: &Limits) -> String {
    match reason {
        KillReason::WallTime => format!("wall time limit of {} ms", lim.wall_time_ms),
        KillReason::CpuTime => format!("CPU time limit of {} ms", lim.cpu_time_ms),
        KillReason::Output => format!("output limit of {} bytes", lim.output_bytes),
        KillReason::Cancelled => "cancelled".to_owned(),
    }
}

fn verdict_for_kill(reason: KillReason) -> Verdict {
    match reason {
        KillReason::WallTime | KillReason::CpuTime => Verdict::TimeLimit,
        KillReason::Output => Verdict::OutputLimit,
        KillReason::Cancelled => Verdict::InternalError,
    }
}

fn fill_status(outcome: &mut RunOutcome, status: i32) {
    if libc::WIFEXITED(status) {
        outcome.exit_code = Some(libc::WEXITSTATUS(status));
    } else if libc::WIFSIGNALED(status) {
        outcome.signal = Some(libc::WTERMSIG(status));
    }
}

fn wall(st: &StepState) -> u64 {
    match (st.started, st.ended) {
        (Some(a), Some(b)) => u64::try_from((b - a).as_millis()).unwrap_or(u64::MAX),
        (Some(a), None) => u64::try_from(a.elapsed().as_millis()).unwrap_or(u64::MAX),
        _ => 0,
    }
}

fn ms(v: u64) -> Duration {
    Duration::from_millis(v)
}

fn stream_index(s: Stream) -> usize {
    match s {
        Stream::Compile => 0,
        Stream::Stdout => 1,
        Stream::Stderr => 2,
    }
}

fn language_step_program(language: &Language, step: usize, compiled: bool) -> String {
    let argv = if compiled && step == 0 {
        language.compile.as_ref()
    } else {
        Some(&language.run)
    };
    argv.and_then(|a| a.first()).cloned().unwrap_or_default()
}

fn plan_op_name(inner: &Inner, language: &Language, index: u64) -> String {
    // Rebuilding the op list is cheap and keeps the record small.
    rootfs::fs_ops(&inner.config.root_dir, language, 0, 0, &[])
        .ok()
        .and_then(|ops| {
            ops.into_iter()
                .nth(usize::try_from(index).unwrap_or(usize::MAX))
        })
        .map(|(desc, _)| format!(" ({desc})"))
        .unwrap_or_default()
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
            Ok(0) | Err(_) => return,
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

#[allow(clippy::too_many_arguments)]
fn build_plan(
    inner: &Inner,
    slot: u32,
    request: &RunRequest,
    language: &Language,
    limits: &[Limits],
    cgroups: &[Option<StepCgroup>],
    ios: &[StepIo],
    status_r: &OwnedFd,
    status_w: &OwnedFd,
) -> Result<Plan, SandboxError> {
    let config = &inner.config;
    let (run_as, userns_map, uid, gid) = match inner.mode {
        Mode::Root => {
            let id = config
                .uid_base
                .checked_add(slot)
                .filter(|&id| id < u32::MAX - 1)
                .ok_or_else(|| SandboxError::Unsupported("uid_base is too large".into()))?;
            (Some((id, id)), None, id, id)
        }
        Mode::UserNamespace => {
            let (euid, egid) = spawn::euid_egid();
            (
                None,
                Some((
                    cstring(format!("0 {euid} 1"))?,
                    cstring(format!("0 {egid} 1"))?,
                )),
                0,
                0,
            )
        }
    };
    let ops = rootfs::fs_ops(
        &config.root_dir,
        language,
        uid,
        gid,
        &[(language.source.as_str(), request.source.as_slice())],
    )?
    .into_iter()
    .map(|(_, op)| op)
    .collect();

    let mut env: Vec<CString> = vec![
        cstring("PATH=/usr/local/bin:/usr/bin:/bin")?,
        cstring("HOME=/work")?,
        cstring("TMPDIR=/tmp")?,
        cstring("LANG=C.UTF-8")?,
        cstring("USER=sandbox")?,
    ];
    for (k, v) in &language.env {
        env.push(cstring(format!("{k}={v}"))?);
    }

    let has_memory_cg = inner.host.cgroups.has_memory();
    let mut keep: BTreeSet<RawFd> = BTreeSet::new();
    keep.insert(status_w.as_raw_fd());
    let mut steps = Vec::new();
    let argvs: Vec<&Vec<String>> = language.compile.iter().chain([&language.run]).collect();
    for (i, ((argv, lim), io)) in argvs.iter().zip(limits).zip(ios).enumerate() {
        let fds: Vec<RawFd> = io.child_fds.iter().map(AsRawFd::as_raw_fd).collect();
        let (stdin, stdout, stderr) = match fds.as_slice() {
            [i, o] => (*i, *o, *o),
            [i, o, e] => (*i, *o, *e),
            _ => return Err(SandboxError::Unsupported("bad stdio plan".into())),
        };
        let mut cg_fds: Vec<RawFd> = cgroups[i]
            .as_ref()
            .map(|c| c.procs.iter().map(AsRawFd::as_raw_fd).collect())
            .unwrap_or_default();
        let cg_dir = cgroups[i]
            .as_ref()
            .and_then(|c| c.dir.as_ref())
            .map(AsRawFd::as_raw_fd);
        keep.extend(fds.iter().copied());
        keep.extend(cg_fds.iter().copied());
        keep.extend(cg_dir);
        let cpu_s = lim.cpu_time_ms.div_ceil(1000) + 1;
        let mem = lim.memory_mb << 20;
        let stack = if has_memory_cg {
            mem.min(64 << 20)
        } else {
            mem.min(8 << 20)
        };
        let mut rlimits = vec![
            (libc::RLIMIT_CPU as libc::c_int, cpu_s, cpu_s + 1),
            (
                libc::RLIMIT_FSIZE as libc::c_int,
                lim.file_bytes,
                lim.file_bytes,
            ),
            (libc::RLIMIT_CORE as libc::c_int, 0, 0),
            (libc::RLIMIT_NOFILE as libc::c_int, 512, 512),
            (
                libc::RLIMIT_NPROC as libc::c_int,
                lim.processes,
                lim.processes,
            ),
            // Deep recursion is common in contest code; the memory cgroup still counts
            // every page. Without it, RLIMIT_DATA (which counts thread stacks) would
            // make a large stack rlimit starve thread creation: keep Linux's 8 MiB.
            (libc::RLIMIT_STACK as libc::c_int, stack, stack),
            (libc::RLIMIT_MSGQUEUE as libc::c_int, 0, 0),
            (libc::RLIMIT_MEMLOCK as libc::c_int, 64 << 10, 64 << 10),
        ];
        if !has_memory_cg {
            rlimits.push((libc::RLIMIT_DATA as libc::c_int, mem, mem));
        }
        let program = argv
            .first()
            .ok_or_else(|| SandboxError::Unsupported("empty command".into()))?;
        steps.push(StepPlan {
            program: cstring(program.as_str())?,
            argv: argv
                .iter()
                .map(|a| cstring(a.as_str()))
                .collect::<Result<_, _>>()?,
            envp: env.clone(),
            stdin,
            stdout,
            stderr,
            cgroup_procs: cg_fds.clone(),
            cgroup_dir: cg_dir,
            rlimits,
            close_after_fork: {
                cg_fds.extend(cg_dir);
                fds.iter().copied().chain(cg_fds).collect()
            },
            resize_tmpfs: (i > 0).then_some(lim.file_bytes),
        });
    }
    let first_files = limits.first().map(|l| l.file_bytes).unwrap_or(0);
    let size = first_files + request.source.len() as u64 + (256 << 10);
    let mut parent_only = vec![status_r.as_raw_fd()];
    for io in ios {
        parent_only.extend(io.readers.iter().map(|(_, fd)| fd.as_raw_fd()));
        if let Some((fd, _)) = &io.stdin {
            parent_only.push(fd.as_raw_fd());
        }
    }
    Ok(Plan {
        root: cstring(
            config
                .root_dir
                .clone()
                .into_os_string()
                .into_encoded_bytes(),
        )?,
        root_tmpfs_data: cstring(format!("size={size},nr_inodes=8192,mode=755"))?,
        ops,
        hostname: cstring("peercode")?,
        steps,
        status_fd: status_w.as_raw_fd(),
        keep_fds: keep.into_iter().collect(),
        parent_only_fds: parent_only,
        seccomp: inner.seccomp.clone(),
        run_as,
        userns_map,
        proc_areas: inner.proc_areas,
        netns: None,
    })
}
