//! The deciding part of a run, kept pure so that every verdict and the precedence between
//! them is unit-tested on hand-made observations: what the supervisor saw in, an
//! outcome (or `Cancelled`) out.

use crate::config::Limits;
use crate::error::SandboxError;
use crate::outcome::{RunOutcome, Verdict};

/// Why the supervisor killed the run (the first reason wins).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum KillReason {
    WallTime,
    CpuTime,
    Output,
    Cancelled,
}

/// What was seen of one step after it ended.
#[derive(Debug, Clone, Copy)]
pub(crate) struct StepSeen {
    pub compile: bool,
    pub limits: Limits,
    /// The step's wait status, if the init reported it.
    pub status: Option<i32>,
    pub cpu_ms: u64,
    pub memory_kb: u64,
    pub wall_ms: u64,
    /// The memory cgroup counted an OOM kill or an allocation at the limit (without a
    /// memory cgroup: the peak RSS came within 10 % of the limit).
    pub memory_hit: bool,
}

/// Everything the supervisor saw of a run.
#[derive(Debug, Clone, Default)]
pub(crate) struct Observation {
    /// Steps that started, in order (the compile step first).
    pub steps: Vec<StepSeen>,
    /// A setup failure reported by the init or a step before `execve`, in words.
    pub failure: Option<String>,
    pub killed: Option<KillReason>,
    /// Compile output, stdout, stderr (each at most its limit).
    pub outputs: [Vec<u8>; 3],
    /// An output stream went over its limit.
    pub truncated: bool,
}

/// Turns what happened into the outcome: verdict, status, usage, output.
///
/// Precedence: a setup failure (`internal_error`) or a cancel decide alone; then a
/// failed compile step (`compile_error`); then, for the run step, the first limit the
/// supervisor killed for (`time_limit` wall or CPU, `output_limit`), output over the
/// cap (`output_limit`, even if memory also ran out: a program that queues output it
/// cannot write runs out of memory *because* of its output), CPU time at the limit or
/// SIGXCPU (`time_limit`), a clean exit (`ok`), the memory limit (`memory_limit`),
/// SIGXFSZ (`output_limit`, the file size limit), anything else (`runtime_error`).
pub(crate) fn judge(seen: Observation) -> Result<RunOutcome, SandboxError> {
    let Observation {
        steps,
        failure,
        killed,
        outputs,
        truncated,
    } = seen;
    if killed == Some(KillReason::Cancelled) {
        return Err(SandboxError::Cancelled);
    }
    let compiled = steps.first().is_some_and(|s| s.compile);
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
        tracing::error!("{f}");
        outcome.message = Some(f);
        return Ok(outcome);
    }

    let usage = |outcome: &mut RunOutcome, st: &StepSeen| {
        outcome.cpu_ms = st.cpu_ms;
        outcome.memory_kb = st.memory_kb;
        outcome.wall_ms = st.wall_ms;
    };

    // The compile step decides alone if it failed.
    if let Some(st) = steps.first().filter(|s| s.compile) {
        let ok = st
            .status
            .is_some_and(|s| libc::WIFEXITED(s) && libc::WEXITSTATUS(s) == 0);
        if !ok {
            outcome.verdict = Verdict::CompileError;
            let why = match (killed, st.memory_hit) {
                (Some(KillReason::WallTime | KillReason::CpuTime), _) => {
                    Some("the compiler exceeded its time limit")
                }
                (Some(KillReason::Output), _) => Some("the compiler's output exceeded its limit"),
                (_, true) => Some("the compiler exceeded its memory limit"),
                _ => None,
            };
            outcome.message = why.map(str::to_owned);
            if let Some(s) = st.status {
                fill_status(&mut outcome, s);
            }
            usage(&mut outcome, st);
            return Ok(outcome);
        }
    }

    let Some(st) = steps.last().filter(|s| !s.compile) else {
        outcome.message = Some("the sandbox ended before the program started".into());
        return Ok(outcome);
    };
    let lim = &st.limits;
    usage(&mut outcome, st);
    let Some(status) = st.status else {
        outcome.message = Some("the sandbox ended without reporting the program's status".into());
        if let Some(reason) = killed {
            // The supervisor killed the whole sandbox: the program died of SIGKILL.
            outcome.verdict = verdict_for_kill(reason);
            outcome.signal = Some(libc::SIGKILL);
            outcome.message = Some(kill_message(reason, lim));
        }
        return Ok(outcome);
    };
    fill_status(&mut outcome, status);
    let signal = outcome.signal;
    let cpu_over = outcome.cpu_ms >= lim.cpu_time_ms || signal == Some(libc::SIGXCPU);
    outcome.verdict = if let Some(reason) = killed {
        verdict_for_kill(reason)
    } else if truncated {
        Verdict::OutputLimit
    } else if cpu_over {
        Verdict::TimeLimit
    } else if outcome.exit_code == Some(0) {
        Verdict::Ok
    } else if st.memory_hit {
        Verdict::MemoryLimit
    } else if signal == Some(libc::SIGXFSZ) {
        Verdict::OutputLimit
    } else {
        Verdict::RuntimeError
    };
    outcome.message = match outcome.verdict {
        Verdict::TimeLimit | Verdict::OutputLimit if killed.is_some() => {
            killed.map(|r| kill_message(r, lim))
        }
        Verdict::TimeLimit => Some(format!("CPU time limit of {} ms", lim.cpu_time_ms)),
        Verdict::MemoryLimit => Some(format!("memory limit of {} MiB", lim.memory_mb)),
        Verdict::OutputLimit if truncated => {
            Some(format!("output limit of {} bytes", lim.output_bytes))
        }
        Verdict::OutputLimit => Some(format!("file size limit of {} bytes", lim.file_bytes)),
        _ => None,
    };
    Ok(outcome)
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

#[cfg(test)]
mod tests {
    use super::*;

    fn exited(code: i32) -> Option<i32> {
        Some((code & 0xff) << 8)
    }

    fn signalled(sig: i32) -> Option<i32> {
        Some(sig)
    }

    fn run_step(status: Option<i32>) -> StepSeen {
        StepSeen {
            compile: false,
            limits: Limits::default(),
            status,
            cpu_ms: 20,
            memory_kb: 9000,
            wall_ms: 30,
            memory_hit: false,
        }
    }

    fn compile_step(status: Option<i32>) -> StepSeen {
        StepSeen {
            compile: true,
            limits: Limits::compile_default(),
            ..run_step(status)
        }
    }

    fn seen(steps: Vec<StepSeen>) -> Observation {
        Observation {
            steps,
            outputs: [b"cc out".to_vec(), b"hello\n".to_vec(), b"warn".to_vec()],
            ..Observation::default()
        }
    }

    fn verdict(o: Observation) -> (Verdict, Option<String>) {
        let out = judge(o).expect("not cancelled");
        (out.verdict, out.message)
    }

    #[test]
    fn a_clean_exit_is_ok_with_output_status_and_usage() {
        let out = judge(seen(vec![run_step(exited(0))])).expect("judged");
        assert_eq!(out.verdict, Verdict::Ok);
        assert_eq!(out.exit_code, Some(0));
        assert_eq!(out.signal, None);
        assert_eq!(out.stdout, "hello\n");
        assert_eq!(out.stderr, "warn");
        assert_eq!((out.cpu_ms, out.memory_kb, out.wall_ms), (20, 9000, 30));
        assert_eq!(out.compile_output, None, "interpreted: no compile output");
        assert_eq!(out.message, None);
    }

    #[test]
    fn a_failed_compile_step_is_a_compile_error_with_its_own_usage() {
        let mut cc = compile_step(exited(1));
        cc.cpu_ms = 700;
        let out = judge(seen(vec![cc])).expect("judged");
        assert_eq!(out.verdict, Verdict::CompileError);
        assert_eq!(out.exit_code, Some(1));
        assert_eq!(out.cpu_ms, 700);
        assert_eq!(out.compile_output.as_deref(), Some("cc out"));
        assert_eq!(out.message, None);
        // A compiler that ran out of time, output or memory says so.
        let mut o = seen(vec![compile_step(signalled(libc::SIGKILL))]);
        o.killed = Some(KillReason::WallTime);
        assert_eq!(
            verdict(o),
            (
                Verdict::CompileError,
                Some("the compiler exceeded its time limit".into())
            )
        );
        let mut cc = compile_step(signalled(libc::SIGKILL));
        cc.memory_hit = true;
        assert_eq!(
            verdict(seen(vec![cc])),
            (
                Verdict::CompileError,
                Some("the compiler exceeded its memory limit".into())
            )
        );
        // A compile step that succeeded leaves the verdict to the run step.
        let o = seen(vec![compile_step(exited(0)), run_step(exited(3))]);
        let out = judge(o).expect("judged");
        assert_eq!(out.verdict, Verdict::RuntimeError);
        assert_eq!(out.exit_code, Some(3));
        assert_eq!(out.compile_output.as_deref(), Some("cc out"));
    }

    #[test]
    fn a_non_zero_exit_or_a_signal_is_a_runtime_error() {
        assert_eq!(
            verdict(seen(vec![run_step(exited(2))])).0,
            Verdict::RuntimeError
        );
        let out = judge(seen(vec![run_step(signalled(libc::SIGSEGV))])).expect("judged");
        assert_eq!(out.verdict, Verdict::RuntimeError);
        assert_eq!(out.signal, Some(libc::SIGSEGV));
        assert_eq!(out.exit_code, None);
    }

    #[test]
    fn time_limits_wall_and_cpu() {
        let mut o = seen(vec![run_step(signalled(libc::SIGKILL))]);
        o.killed = Some(KillReason::WallTime);
        assert_eq!(
            verdict(o),
            (
                Verdict::TimeLimit,
                Some("wall time limit of 10000 ms".into())
            )
        );
        let mut o = seen(vec![run_step(signalled(libc::SIGKILL))]);
        o.killed = Some(KillReason::CpuTime);
        assert_eq!(
            verdict(o),
            (Verdict::TimeLimit, Some("CPU time limit of 5000 ms".into()))
        );
        // RLIMIT_CPU's SIGXCPU, or CPU time at the limit, without a kill by the supervisor.
        assert_eq!(
            verdict(seen(vec![run_step(signalled(libc::SIGXCPU))])),
            (Verdict::TimeLimit, Some("CPU time limit of 5000 ms".into()))
        );
        let mut st = run_step(exited(0));
        st.cpu_ms = 5000;
        assert_eq!(verdict(seen(vec![st])).0, Verdict::TimeLimit);
    }

    #[test]
    fn memory_limit_when_the_program_failed_at_the_limit() {
        let mut st = run_step(signalled(libc::SIGKILL));
        st.memory_hit = true;
        assert_eq!(
            verdict(seen(vec![st])),
            (Verdict::MemoryLimit, Some("memory limit of 128 MiB".into()))
        );
        // A program that hit the limit once, recovered and exited 0 is ok.
        let mut st = run_step(exited(0));
        st.memory_hit = true;
        assert_eq!(verdict(seen(vec![st])).0, Verdict::Ok);
    }

    #[test]
    fn output_limit_for_too_much_output_or_a_too_large_file() {
        let mut o = seen(vec![run_step(signalled(libc::SIGKILL))]);
        o.killed = Some(KillReason::Output);
        o.truncated = true;
        let out = judge(o).expect("judged");
        assert_eq!(out.verdict, Verdict::OutputLimit);
        assert!(out.truncated);
        assert_eq!(
            out.message.as_deref(),
            Some("output limit of 1048576 bytes")
        );
        assert_eq!(
            verdict(seen(vec![run_step(signalled(libc::SIGXFSZ))])),
            (
                Verdict::OutputLimit,
                Some("file size limit of 16777216 bytes".into())
            )
        );
    }

    #[test]
    fn cancelled_is_not_a_verdict_but_an_error() {
        let mut o = seen(vec![run_step(signalled(libc::SIGKILL))]);
        o.killed = Some(KillReason::Cancelled);
        assert!(matches!(judge(o), Err(SandboxError::Cancelled)));
    }

    #[test]
    fn internal_error_for_a_setup_failure_or_a_missing_status() {
        let mut o = seen(vec![run_step(None)]);
        o.failure = Some("sandbox setup failed while execve (python3): No such file".into());
        let out = judge(o).expect("judged");
        assert_eq!(out.verdict, Verdict::InternalError);
        assert!(out.message.as_deref().is_some_and(|m| m.contains("execve")));
        assert_eq!(
            verdict(seen(vec![run_step(None)])),
            (
                Verdict::InternalError,
                Some("the sandbox ended without reporting the program's status".into())
            )
        );
        // No step started at all.
        assert_eq!(verdict(seen(Vec::new())).0, Verdict::InternalError);
        // Killed before the status came: the kill decides.
        let mut o = seen(vec![run_step(None)]);
        o.killed = Some(KillReason::WallTime);
        let out = judge(o).expect("judged");
        assert_eq!(out.verdict, Verdict::TimeLimit);
        assert_eq!(out.signal, Some(libc::SIGKILL));
    }

    #[test]
    fn precedence_when_several_limits_trip() {
        // A setup failure beats everything, a cancel beats a setup failure.
        let mut o = seen(vec![run_step(signalled(libc::SIGKILL))]);
        o.failure = Some("sandbox setup failed".into());
        o.killed = Some(KillReason::Output);
        assert_eq!(verdict(o.clone()).0, Verdict::InternalError);
        o.killed = Some(KillReason::Cancelled);
        assert!(matches!(judge(o), Err(SandboxError::Cancelled)));
        // A failed compile beats the limits the supervisor killed for.
        let mut o = seen(vec![compile_step(signalled(libc::SIGKILL))]);
        o.killed = Some(KillReason::Output);
        assert_eq!(verdict(o).0, Verdict::CompileError);
        // The first kill reason wins over later ones and over memory.
        let mut st = run_step(signalled(libc::SIGKILL));
        st.memory_hit = true;
        st.cpu_ms = 9000;
        let mut o = seen(vec![st]);
        o.killed = Some(KillReason::WallTime);
        o.truncated = true;
        assert_eq!(verdict(o).0, Verdict::TimeLimit);
        // Output over the cap beats memory (a program that queues output it cannot write
        // runs out of memory because of it) and CPU time.
        let mut st = run_step(signalled(libc::SIGKILL));
        st.memory_hit = true;
        st.cpu_ms = 9000;
        let mut o = seen(vec![st]);
        o.truncated = true;
        assert_eq!(
            verdict(o),
            (
                Verdict::OutputLimit,
                Some("output limit of 1048576 bytes".into())
            )
        );
        // CPU time beats memory and a clean exit.
        let mut st = run_step(signalled(libc::SIGKILL));
        st.memory_hit = true;
        st.cpu_ms = 5000;
        assert_eq!(verdict(seen(vec![st])).0, Verdict::TimeLimit);
        // Memory beats SIGXFSZ-free runtime errors.
        let mut st = run_step(exited(1));
        st.memory_hit = true;
        assert_eq!(verdict(seen(vec![st])).0, Verdict::MemoryLimit);
    }
}
