//! The public entry point: a [`Sandbox`] with a bounded queue, whose [`Sandbox::run`]
//! gives a [`RunHandle`] streaming output chunks and ending with a [`RunOutcome`].

use std::os::fd::OwnedFd;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use tokio::sync::{Semaphore, mpsc, oneshot};
use tokio_util::sync::CancellationToken;

use crate::config::{CleanupOrder, NetnsAhead, RunRequest, SandboxConfig};
use crate::error::SandboxError;
use crate::host::{HostReport, Mode};
use crate::language::Language;
use crate::outcome::{OutputChunk, RunOutcome};
use crate::plan::ProcAreas;
use crate::seccomp::{self, Bpf};
use crate::supervise::{Cleanup, Job, Live, Ready, supervise};
use crate::sys;

/// Runs untrusted programs, a bounded number at a time. Cheap to clone.
#[derive(Clone)]
pub struct Sandbox {
    inner: Arc<Inner>,
}

/// How many uids past `uid_base + concurrency` a run may fall back to when other
/// processes hold its own.
const EXTRA_UIDS: u32 = 1024;

/// Root mode: where the per-uid lock files live (root-owned, like the default root dir).
const UID_LOCK_DIR: &str = "/run/peercode-sandbox/uids";

/// The uid a run's program runs as, reserved host-wide while the lock is held.
pub(crate) struct UidLease {
    pub(crate) uid: u32,
    _lock: Option<std::fs::File>,
}

pub(crate) struct Inner {
    /// A sandbox made ahead for the next run like the last one (root mode, with
    /// [`SandboxConfig::init_ahead`]). First, so it is dropped (killed) first.
    ready: Mutex<Option<Ready>>,
    pub(crate) config: SandboxConfig,
    pub(crate) host: HostReport,
    pub(crate) mode: Mode,
    /// Fresh network namespaces made by a background thread (root mode only; empty
    /// when it cannot keep up, and then `clone` makes one).
    pub(crate) netns: Mutex<std::sync::mpsc::Receiver<OwnedFd>>,
    /// The empty cgroups made while probing the host, for the first run's first step
    /// (removed with the sandbox if no run takes them).
    pub(crate) spares: Mutex<Option<crate::cgroup::Spares>>,
    /// Where the server's argv/environ strings live, wiped in every init.
    pub(crate) proc_areas: Option<ProcAreas>,
    /// Compiled once; copied into every child.
    pub(crate) seccomp: Vec<Bpf>,
    /// One permit per run allowed to execute at once.
    permits: Arc<Semaphore>,
    /// Free slot numbers; a run's uid is `uid_base + slot` unless another process
    /// holds that uid (see [`Inner::lease_uid`]).
    pub(crate) slots: Mutex<Vec<u32>>,
    /// Root mode: the directory of per-uid lock files shared by every sandbox on the
    /// host, so that two `peercode` processes never run programs as the same uid.
    uid_locks: Option<PathBuf>,
    /// Runs accepted and not finished (waiting or running), for the queue bound.
    accepted: AtomicUsize,
    /// The thread that creates each run's cgroups and `clone`s its sandbox, so each
    /// init's parent thread lives as long as the sandbox (PR_SET_PDEATHSIG fires when
    /// the parent *thread* exits) and no cgroupfs work runs on the async runtime.
    pub(crate) spawner: Mutex<std::sync::mpsc::Sender<Job>>,
    /// The thread that cleans up after runs whose supervisor was dropped mid-run
    /// (blocking waits and cgroup removal, kept off the async runtime).
    reaper: Mutex<std::sync::mpsc::Sender<Cleanup>>,
}

impl Inner {
    /// Reserves the uid a run's program runs as, host-wide: `uid_base + slot` if no
    /// other process (another `peercode run`, another server) holds it, else the first
    /// free one of `uid_base + concurrency ..` (RLIMIT_NPROC and other per-uid kernel
    /// counts are host-wide, so two runs must never share a uid). The lease is an
    /// exclusive `flock` on `<uid_locks>/<uid>.lock`, held until the run's processes
    /// are gone.
    pub(crate) fn lease_uid(&self, slot: u32) -> Result<UidLease, SandboxError> {
        let config = &self.config;
        let out_of_range = || SandboxError::UidOutOfRange {
            uid_base: config.uid_base,
            slots: config.concurrency,
        };
        let uid_of = |k: u32| {
            config
                .uid_base
                .checked_add(k)
                .filter(|&u| u < u32::MAX - 1)
                .ok_or_else(out_of_range)
        };
        let Some(dir) = &self.uid_locks else {
            // User-namespace mode: the program is the invoking user; nothing to reserve.
            return Ok(UidLease {
                uid: uid_of(slot)?,
                _lock: None,
            });
        };
        let concurrency = u32::try_from(config.concurrency.max(1)).map_err(|_| out_of_range())?;
        let extra = (0..EXTRA_UIDS).map(|j| concurrency.saturating_add(j));
        for k in std::iter::once(slot).chain(extra) {
            let uid = uid_of(k)?;
            let path = dir.join(format!("{uid}.lock"));
            let file = std::fs::OpenOptions::new()
                .read(true)
                .write(true)
                .create(true)
                .mode(0o600)
                .custom_flags(libc::O_NOFOLLOW)
                .open(&path)
                .map_err(|e| SandboxError::io(format!("opening {}", path.display()), e))?;
            match file.try_lock() {
                Ok(()) => {
                    return Ok(UidLease {
                        uid,
                        _lock: Some(file),
                    });
                }
                Err(std::fs::TryLockError::WouldBlock) => continue,
                Err(std::fs::TryLockError::Error(e)) => {
                    return Err(SandboxError::io(format!("locking {}", path.display()), e));
                }
            }
        }
        Err(SandboxError::UidsExhausted {
            first: config.uid_base,
            count: concurrency.saturating_add(EXTRA_UIDS),
        })
    }

    pub(crate) fn has_ready(&self) -> bool {
        self.ready.lock().is_ok_and(|r| r.is_some())
    }

    pub(crate) fn put_ready(&self, ready: Ready) {
        if let Ok(mut r) = self.ready.lock() {
            *r = Some(ready);
        }
    }

    /// The sandbox made ahead, if it was made for a run of `language` with `limits` and is
    /// still waiting; any other is discarded.
    fn take_ready(self: &Arc<Self>, language: &Language, limits: &crate::Limits) -> Option<Ready> {
        let ready = self.ready.lock().ok()?.take()?;
        if ready.language == *language && ready.limits == *limits && !ready.expired() {
            Some(ready)
        } else {
            ready.discard(self);
            None
        }
    }

    pub(crate) fn release_slot(&self, slot: u32) {
        if let Ok(mut slots) = self.slots.lock() {
            slots.push(slot);
        }
    }

    /// Hands a cleanup to the reaper thread (or runs it here if that thread is gone).
    pub(crate) fn reap_later(&self, cleanup: Cleanup) {
        let unsent = match self.reaper.lock() {
            Ok(tx) => tx.send(cleanup).err().map(|e| e.0),
            Err(_) => Some(cleanup),
        };
        if let Some(cleanup) = unsent {
            cleanup.run();
        }
    }
}

impl Sandbox {
    /// Checks the host, compiles the seccomp filters and starts the spawner thread.
    /// Fails if the host cannot give the essential protections (namespaces, seccomp);
    /// protections it gives only partly are listed in [`Sandbox::host`] and logged.
    pub fn new(config: SandboxConfig) -> Result<Self, SandboxError> {
        let concurrency = config.concurrency.max(1);
        // First, so that the namespaces are being made while the host is probed (root
        // mode is root's: see `HostReport::probe`).
        let netns = start_netns_thread(config.netns_ahead, concurrency, sys::euid_egid().0 == 0)?;
        let proc_areas = ProcAreas::of_self();
        let (host, spares) = HostReport::probe(config.cgroup_parent.as_deref());
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
        // Before any run, and before returning: a `peercode run` exits right after its run,
        // and must have swept what a killed one left.
        crate::cgroup::sweep_stale(&host.cgroups);
        crate::rootfs::prepare_mount_point(&config.root_dir)?;
        let uid_locks = match mode {
            Mode::Root => {
                let dir = PathBuf::from(UID_LOCK_DIR);
                crate::rootfs::prepare_mount_point(&dir)?;
                let _ = std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700));
                Some(dir)
            }
            Mode::UserNamespace => None,
        };
        let seccomp = seccomp::filters()?;
        let (tx, rx) = std::sync::mpsc::channel::<Job>();
        let cgroups = host.cgroups.clone();
        std::thread::Builder::new()
            .name("sandbox-spawner".into())
            .spawn(move || {
                while let Ok(job) = rx.recv() {
                    job.run(&cgroups);
                }
            })
            .map_err(|e| SandboxError::io("starting the spawner thread", e))?;
        let (reaper_tx, reaper_rx) = std::sync::mpsc::channel::<Cleanup>();
        std::thread::Builder::new()
            .name("sandbox-reaper".into())
            .spawn(move || {
                while let Ok(cleanup) = reaper_rx.recv() {
                    cleanup.run();
                }
            })
            .map_err(|e| SandboxError::io("starting the reaper thread", e))?;
        // One more uid slot than runs at once: the sandbox made ahead holds one while it
        // waits for a run.
        let slots =
            concurrency as u32 + u32::from(config.init_ahead.is_some() && mode == Mode::Root);
        Ok(Sandbox {
            inner: Arc::new(Inner {
                ready: Mutex::new(None),
                permits: Arc::new(Semaphore::new(concurrency)),
                slots: Mutex::new((0..slots).rev().collect()),
                uid_locks,
                accepted: AtomicUsize::new(0),
                spawner: Mutex::new(tx),
                reaper: Mutex::new(reaper_tx),
                seccomp,
                proc_areas,
                netns: Mutex::new(netns),
                spares: Mutex::new(Some(spares)),
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

    /// The sandbox made ahead for the next run, if one is waiting (see
    /// [`SandboxConfig::init_ahead`]): what this sandbox holds on the host between runs.
    /// One whose time ran out is `None`: its init has exited, and the next run removes
    /// what is left of it.
    pub fn made_ahead(&self) -> Option<MadeAhead> {
        let ready = self.inner.ready.lock().ok()?;
        ready.as_ref().filter(|r| !r.expired()).map(Ready::held)
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
        request.check_files(&language.source, &inner.config)?;
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
            let (result, live) =
                execute(&task_inner, request, language, chunks_tx, task_cancel).await;
            // Accepting the caller's next run at once is fine either way: it waits for the
            // permit this one holds until its cleanup is done.
            task_inner.accepted.fetch_sub(1, Ordering::SeqCst);
            match task_inner.config.cleanup {
                CleanupOrder::AfterOutcome => {
                    let _ = outcome_tx.send(result);
                    if let Some(live) = live {
                        live.finish().await;
                    }
                }
                CleanupOrder::BeforeOutcome => {
                    if let Some(live) = live {
                        live.finish().await;
                    }
                    let _ = outcome_tx.send(result);
                }
            }
        });
        Ok(RunHandle {
            chunks: chunks_rx,
            outcome: outcome_rx,
            cancel,
        })
    }
}

/// Starts the thread that makes network namespaces ahead of runs (root mode only): the
/// receiving end gets them.
fn start_netns_thread(
    ahead: NetnsAhead,
    concurrency: usize,
    root: bool,
) -> Result<std::sync::mpsc::Receiver<OwnedFd>, SandboxError> {
    let (count, refill) = match ahead {
        NetnsAhead::Pool => (concurrency + 1, true),
        NetnsAhead::Once(n) => (n, false),
    };
    let (tx, rx) = std::sync::mpsc::sync_channel::<OwnedFd>(count);
    if root && count > 0 {
        std::thread::Builder::new()
            .name("sandbox-netns".into())
            .spawn(move || {
                // A pool blocks while it is full and ends when the sandbox is dropped; a
                // one-off batch ends once made.
                let mut made = 0;
                while refill || made < count {
                    let Ok(fd) = sys::make_netns() else { break };
                    if tx.send(fd).is_err() {
                        break;
                    }
                    made += 1;
                }
            })
            .map_err(|e| SandboxError::io("starting the netns thread", e))?;
    }
    Ok(rx)
}

/// A sandbox made ahead of its run, waiting for one ([`Sandbox::made_ahead`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MadeAhead {
    /// The language (table key) it was made for.
    pub language: String,
    /// Host pid of its init (root, waiting; no program has run in it).
    pub init_pid: u32,
    /// Its steps' cgroup directories (no process is in them until a run starts).
    pub cgroups: Vec<PathBuf>,
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

/// Runs `request` to its outcome; the run's leftovers (processes still exiting, cgroups)
/// come back with it, for [`Live::finish`] before or after the outcome is handed over.
async fn execute(
    inner: &Arc<Inner>,
    request: RunRequest,
    language: Language,
    chunks: mpsc::UnboundedSender<OutputChunk>,
    cancel: CancellationToken,
) -> (Result<RunOutcome, SandboxError>, Option<Live>) {
    let permit = tokio::select! {
        p = Arc::clone(&inner.permits).acquire_owned() => match p {
            Ok(p) => p,
            Err(_) => return (Err(SandboxError::Internal("the run semaphore is closed")), None),
        },
        _ = cancel.cancelled() => return (Err(SandboxError::Cancelled), None),
    };
    if let Some(ready) = inner.take_ready(&language, &request.limits) {
        match ready.write_files(&request, &language) {
            Ok(()) => {
                let mut live = Live::for_ready(Arc::clone(inner), permit);
                let ready = Some(ready);
                let result = supervise(&mut live, &request, &language, ready, &chunks, &cancel);
                return (result.await, Some(live));
            }
            Err(e) => {
                // Unexpected (the tmpfs has room for the largest request): make a fresh one.
                tracing::warn!("sandbox: a sandbox made ahead could not take the run: {e}");
                ready.discard(inner);
            }
        }
    }
    let slot = match inner.slots.lock() {
        Ok(mut slots) => slots.pop(),
        Err(_) => {
            return (
                Err(SandboxError::Internal("the slot lock is poisoned")),
                None,
            );
        }
    };
    let Some(slot) = slot else {
        return (
            Err(SandboxError::Internal(
                "no free uid slot although a permit was",
            )),
            None,
        );
    };
    let lease = match inner.lease_uid(slot) {
        Ok(lease) => lease,
        Err(e) => {
            inner.release_slot(slot);
            return (Err(e), None);
        }
    };
    let mut live = Live::new(Arc::clone(inner), slot, lease, permit);
    let result = supervise(&mut live, &request, &language, None, &chunks, &cancel).await;
    (result, Some(live))
}
