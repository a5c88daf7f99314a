//! Self-checks: a probe program runs in the sandbox and reports, from the inside,
//! which protections hold; each language's `hello` program runs. Used by
//! `peercode doctor` and at server start-up, so a missing protection is never silent.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::config::{Limits, RunRequest};
use crate::language::Language;
use crate::outcome::{RunOutcome, Verdict};
use crate::sandbox::Sandbox;
use crate::text::truncate_utf8;

/// One protection or language and whether it works on this host.
#[derive(Debug, Clone, Serialize)]
pub struct Check {
    pub name: String,
    pub ok: bool,
    /// A language whose toolchain is not installed on this host (not a failure).
    pub absent: bool,
    pub detail: String,
}

fn check(name: &str, ok: bool, detail: impl Into<String>) -> Check {
    Check {
        name: name.to_owned(),
        ok,
        absent: false,
        detail: detail.into(),
    }
}

/// Reports facts about the process as it sees itself inside the sandbox.
const PROBE: &str = r#"
for n in pid mnt net ipc uts; do echo "ns_$n $(readlink /proc/self/ns/$n)"; done
grep -E '^(Uid|CapEff|CapBnd|NoNewPrivs|Seccomp):' /proc/self/status | tr '\t' ' ' | sed 's/:/ /'
echo "pid1 $(cat /proc/1/comm)"
echo "ppid $PPID"
echo "hostname $(cat /proc/sys/kernel/hostname)"
echo "ifaces $(tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d ' ' | tr '\n' ',')"
echo "workfs $(stat -f -c %T /work)"
echo "tmpfs $(stat -f -c %T /tmp)"
if touch /usr/peercode-probe 2>/dev/null; then echo "usr_ro no"; else echo "usr_ro yes"; fi
if [ -e /etc/shadow ]; then echo "shadow visible"; else echo "shadow hidden"; fi
echo "devs $(ls /dev | tr '\n' ',')"
"#;

fn probe_language() -> Language {
    Language {
        name: "probe".into(),
        aliases: Vec::new(),
        extensions: Vec::new(),
        source: "probe.sh".into(),
        compile: None,
        run: vec!["/bin/sh".into(), "probe.sh".into()],
        mounts: Vec::new(),
        env: BTreeMap::new(),
        hello: None,
    }
}

fn own_namespace(kind: &str) -> String {
    std::fs::read_link(format!("/proc/self/ns/{kind}"))
        .map(|p| p.to_string_lossy().into_owned())
        .unwrap_or_default()
}

impl Sandbox {
    /// Runs the probe program and checks every SPEC §3 protection from the inside,
    /// plus what the host report says about cgroups.
    pub async fn check_protections(&self) -> Vec<Check> {
        let mut checks = Vec::new();
        let host = self.host();
        let mode = match host.mode {
            Some(crate::host::Mode::Root) => "root: each run gets its own unprivileged uid",
            Some(crate::host::Mode::UserNamespace) => {
                "not root: user namespace, programs run as the invoking user"
            }
            None => "none",
        };
        let release = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
        let version: Vec<u32> = release
            .trim()
            .split(['.', '-'])
            .take(2)
            .filter_map(|p| p.parse().ok())
            .collect();
        checks.push(check(
            "kernel",
            version.as_slice() >= [5, 9].as_slice(),
            format!(
                "Linux {} (needs 5.9+: pidfd, close_range, clone3 into cgroups)",
                release.trim()
            ),
        ));
        checks.push(check(
            "privileges",
            host.mode == Some(crate::host::Mode::Root),
            mode,
        ));
        let request = RunRequest {
            language: "probe".into(),
            source: PROBE.as_bytes().to_vec(),
            limits: Limits::default(),
            ..RunRequest::default()
        };
        let outcome = match self.run_language(request, probe_language()) {
            Ok(h) => h.outcome().await,
            Err(e) => Err(e),
        };
        let out = match outcome {
            Ok(o) if o.verdict == Verdict::Ok => o,
            Ok(o) => {
                let why = o.message.clone().unwrap_or_else(|| o.stderr.clone());
                checks.push(check(
                    "sandbox",
                    false,
                    format!("probe run failed: {} {why}", o.verdict),
                ));
                return checks;
            }
            Err(e) => {
                checks.push(check("sandbox", false, format!("probe run failed: {e}")));
                return checks;
            }
        };
        let facts: BTreeMap<&str, &str> = out
            .stdout
            .lines()
            .filter_map(|l| l.split_once(' '))
            .map(|(k, v)| (k, v.trim()))
            .collect();
        let fact = |k: &str| facts.get(k).copied().unwrap_or("");

        let mut separate = Vec::new();
        let mut shared = Vec::new();
        for kind in ["pid", "mnt", "net", "ipc", "uts"] {
            let inside = fact(&format!("ns_{kind}"));
            if !inside.is_empty() && inside != own_namespace(kind) {
                separate.push(kind);
            } else {
                shared.push(kind);
            }
        }
        checks.push(check(
            "namespaces",
            shared.is_empty(),
            if shared.is_empty() {
                format!("separate {}", separate.join(", "))
            } else {
                format!("shared with the host: {}", shared.join(", "))
            },
        ));
        let uid = fact("Uid").split_whitespace().next().unwrap_or("?");
        let uid = if uid.is_empty() { "?" } else { uid };
        let root_mode = host.mode == Some(crate::host::Mode::Root);
        checks.push(check(
            "unprivileged uid",
            root_mode && uid != "0" && uid != "?",
            if root_mode {
                format!("program runs as uid {uid}")
            } else {
                format!("program runs as uid {uid} of a user namespace: the invoking user")
            },
        ));
        let caps_ok = fact("CapEff").trim_start_matches('0').is_empty()
            && fact("CapBnd").trim_start_matches('0').is_empty();
        checks.push(check(
            "no capabilities",
            caps_ok,
            format!("CapEff {} CapBnd {}", fact("CapEff"), fact("CapBnd")),
        ));
        checks.push(check(
            "no_new_privs",
            fact("NoNewPrivs") == "1",
            format!("NoNewPrivs {}", fact("NoNewPrivs")),
        ));
        checks.push(check(
            "seccomp",
            fact("Seccomp") == "2",
            format!(
                "mode {} denying {}",
                fact("Seccomp"),
                crate::seccomp::DENIED_NAMES
            ),
        ));
        checks.push(check(
            "pid isolation",
            fact("pid1") == "peercode-init" && fact("ppid") == "1",
            format!(
                "pid 1 is {}, the program's parent is pid {}",
                fact("pid1"),
                fact("ppid")
            ),
        ));
        checks.push(check(
            "no network",
            fact("ifaces").trim_end_matches(',') == "lo",
            format!("interfaces: {}", fact("ifaces").trim_end_matches(',')),
        ));
        checks.push(check(
            "read-only system",
            fact("usr_ro") == "yes" && fact("shadow") == "hidden",
            format!(
                "/usr read-only: {}, /etc/shadow {}",
                fact("usr_ro"),
                fact("shadow")
            ),
        ));
        checks.push(check(
            "fresh tmpfs work dir",
            fact("workfs") == "tmpfs" && fact("tmpfs") == "tmpfs",
            format!("/work on {}, /tmp on {}", fact("workfs"), fact("tmpfs")),
        ));
        checks.push(check(
            "minimal /dev",
            !fact("devs").contains("sda") && !fact("devs").contains("mem,"),
            fact("devs").trim_end_matches(',').to_owned(),
        ));
        let cg = &host.cgroups;
        let cg_detail = |ok: bool, what: &str| {
            if ok {
                format!("cgroup {} {what}", cg.version())
            } else {
                "no usable cgroup controller (see the notes below)".to_owned()
            }
        };
        checks.push(check(
            "memory limit",
            cg.has_memory(),
            cg_detail(cg.has_memory(), "memory controller; peak memory measured"),
        ));
        checks.push(check(
            "process limit",
            cg.has_pids(),
            cg_detail(cg.has_pids(), "pids controller"),
        ));
        checks.push(check(
            "cpu limit",
            cg.has_cpu(),
            cg_detail(cg.has_cpu(), "cpu quota and CPU time accounting"),
        ));
        checks.push(check(
            "rlimits",
            true,
            "CPU, file size, stack, open files, no core dumps",
        ));
        checks
    }

    /// For the server's start-up: runs [`Sandbox::check_protections`] and logs every
    /// protection this host does not give as a warning. Returns whether all hold.
    pub async fn log_protections(&self) -> bool {
        let mut all = true;
        for c in self.check_protections().await {
            if c.ok {
                tracing::debug!("sandbox protection {}: {}", c.name, c.detail);
            } else {
                all = false;
                tracing::warn!("sandbox protection MISSING {}: {}", c.name, c.detail);
            }
        }
        all
    }

    /// Runs every language's `hello` program (or only checks its paths if it has none).
    pub async fn check_languages(&self) -> Vec<Check> {
        let mut checks = Vec::new();
        for lang in self.config().languages.iter() {
            let missing = lang.missing();
            if !missing.is_empty() {
                let paths: Vec<String> = missing.iter().map(|p| p.display().to_string()).collect();
                checks.push(Check {
                    absent: true,
                    ..check(&lang.name, false, format!("missing {}", paths.join(", ")))
                });
                continue;
            }
            let Some(hello) = &lang.hello else {
                checks.push(check(
                    &lang.name,
                    true,
                    "toolchain present (no hello program to run)",
                ));
                continue;
            };
            let request = RunRequest {
                language: lang.name.clone(),
                source: hello.as_bytes().to_vec(),
                ..RunRequest::default()
            };
            let result = match self.run(request) {
                Ok(h) => h.outcome().await,
                Err(e) => Err(e),
            };
            checks.push(match result {
                Ok(o) if o.verdict == Verdict::Ok && o.stdout.trim() == "hello" => check(
                    &lang.name,
                    true,
                    format!("{} ({} ms)", lang.run.join(" "), o.wall_ms),
                ),
                Ok(o) => check(&lang.name, false, hello_failure(&o)),
                Err(e) => check(&lang.name, false, e.to_string()),
            });
        }
        checks
    }
}

/// What `doctor` says about a `hello` program that did not print `hello`: the verdict and
/// the start of the compiler's output and stderr.
fn hello_failure(o: &RunOutcome) -> String {
    let mut why = o.compile_output.clone().unwrap_or_default();
    why.push_str(&o.stderr);
    truncate_utf8(&mut why, 300);
    format!("hello program: {} {}", o.verdict, why.trim())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_compiler_message_with_curly_quotes_at_the_cut_does_not_panic() {
        // gcc under LANG=C.UTF-8 quotes names with U+2018/U+2019 (3 bytes each); put one
        // across byte 300.
        let mut stderr = "x".repeat(299);
        stderr.push_str("‘main’ undeclared");
        let o = RunOutcome {
            verdict: Verdict::CompileError,
            exit_code: Some(1),
            signal: None,
            stdout: String::new(),
            stderr,
            cpu_ms: 0,
            wall_ms: 0,
            memory_kb: 0,
            compile_output: Some(String::new()),
            truncated: false,
            message: None,
        };
        let detail = hello_failure(&o);
        assert_eq!(
            detail,
            format!("hello program: compile_error {}", "x".repeat(299))
        );
    }
}
