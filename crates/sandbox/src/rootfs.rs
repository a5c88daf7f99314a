//! The file system a sandboxed program sees, as a list of [`FsOp`]s the init runs in
//! its private mount namespace: a fresh tmpfs root holding the runtime's host paths
//! bound read-only, a generated `/etc`, a minimal `/dev`, the namespace's own `/proc`,
//! and the writable work dir and `/tmp` (which share the tmpfs and its size limit).

use std::collections::BTreeSet;
use std::ffi::CString;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt};
use std::path::Path;

use crate::error::SandboxError;
use crate::language::Language;
use crate::plan::{FsOp, cstring};
use crate::sys;

/// Host paths every runtime gets, read-only: the system, the dynamic linker's cache,
/// Debian's alternatives symlinks. Top-level symlinks (`/bin` → `usr/bin` on merged-/usr
/// systems) are recreated as symlinks.
const SYSTEM_PATHS: &[&str] = &[
    "/usr",
    "/bin",
    "/sbin",
    "/lib",
    "/lib64",
    "/lib32",
    "/libx32",
    "/etc/ld.so.cache",
    "/etc/alternatives",
];

const DEVICES: &[&str] = &["null", "zero", "full", "random", "urandom"];

/// File-system ops with a description each (for error messages). `uid`/`gid` own the
/// work dir; `files` are `(name, contents)` written into it.
pub(crate) fn fs_ops(
    root: &Path,
    language: &Language,
    uid: u32,
    gid: u32,
    files: &[(&str, &[u8])],
) -> Result<Vec<(String, FsOp)>, SandboxError> {
    let at = |p: &str| -> Result<CString, SandboxError> {
        cstring(
            root.join(p.trim_start_matches('/'))
                .into_os_string()
                .into_encoded_bytes(),
        )
    };
    let mut ops: Vec<(String, FsOp)> = Vec::new();
    let mut made: BTreeSet<String> = BTreeSet::new();
    let mkdirs = |path: &Path, ops: &mut Vec<(String, FsOp)>, made: &mut BTreeSet<String>| {
        let mut acc = String::new();
        for comp in path.components().skip(1) {
            acc.push('/');
            acc.push_str(&comp.as_os_str().to_string_lossy());
            if made.insert(acc.clone()) {
                ops.push((
                    format!("mkdir {acc}"),
                    FsOp::Mkdir {
                        path: at(&acc)?,
                        mode: 0o755,
                    },
                ));
            }
        }
        Ok::<(), SandboxError>(())
    };
    let bind_ro = |host: &Path,
                   ops: &mut Vec<(String, FsOp)>,
                   made: &mut BTreeSet<String>|
     -> Result<(), SandboxError> {
        let Ok(meta) = std::fs::symlink_metadata(host) else {
            return Ok(()); // absent on this host: nothing to mount
        };
        let name = host.to_string_lossy().into_owned();
        if meta.file_type().is_symlink() && host.parent() == Some(Path::new("/")) {
            let target = std::fs::read_link(host)
                .map_err(|e| SandboxError::io(format!("readlink {name}"), e))?;
            ops.push((
                format!("symlink {name}"),
                FsOp::Symlink {
                    target: cstring(target.into_os_string().into_encoded_bytes())?,
                    path: at(&name)?,
                },
            ));
            return Ok(());
        }
        let src = cstring(name.clone())?;
        let flags = sys::mount_flags(&src)
            .map_err(|e| SandboxError::io(format!("statvfs {name}"), e))?
            | libc::MS_RDONLY
            | libc::MS_NOSUID
            | libc::MS_NODEV;
        let is_dir = std::fs::metadata(host).map(|m| m.is_dir()).unwrap_or(false);
        if is_dir {
            mkdirs(host, ops, made)?;
        } else {
            if let Some(parent) = host.parent() {
                mkdirs(parent, ops, made)?;
            }
            ops.push((format!("touch {name}"), FsOp::Touch { path: at(&name)? }));
        }
        ops.push((
            format!("bind {name} read-only"),
            FsOp::Bind {
                src,
                dst: at(&name)?,
                flags,
            },
        ));
        Ok(())
    };
    for p in SYSTEM_PATHS {
        bind_ro(Path::new(p), &mut ops, &mut made)?;
    }
    for p in &language.mounts {
        // A path inside a system mount is already there (and read-only: no mount point
        // could be made for it).
        let covered = SYSTEM_PATHS
            .iter()
            .any(|sys| p.starts_with(sys) && Path::new(sys).is_dir());
        if !covered {
            bind_ro(p, &mut ops, &mut made)?;
        }
    }
    mkdirs(Path::new("/etc"), &mut ops, &mut made)?;
    let passwd = format!(
        "root:x:0:0:root:/root:/usr/sbin/nologin\nsandbox:x:{uid}:{gid}:sandbox:/work:/bin/sh\n\
         nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n"
    );
    let group = format!("root:x:0:\nsandbox:x:{gid}:\nnogroup:x:65534:\n");
    for (name, data) in [
        ("/etc/passwd", passwd.into_bytes()),
        ("/etc/group", group.into_bytes()),
        (
            "/etc/hosts",
            b"127.0.0.1 localhost peercode\n::1 localhost\n".to_vec(),
        ),
        ("/etc/hostname", b"peercode\n".to_vec()),
    ] {
        ops.push((
            format!("write {name}"),
            FsOp::WriteFile {
                path: at(name)?,
                data,
                mode: 0o644,
            },
        ));
    }
    // A minimal /dev: the harmless character devices, bound from the host.
    mkdirs(Path::new("/dev"), &mut ops, &mut made)?;
    for dev in DEVICES {
        let host = format!("/dev/{dev}");
        let src = cstring(host.clone())?;
        let flags = sys::mount_flags(&src)
            .map_err(|e| SandboxError::io(format!("statvfs {host}"), e))?
            | libc::MS_NOSUID
            | libc::MS_NOEXEC;
        ops.push((format!("touch {host}"), FsOp::Touch { path: at(&host)? }));
        ops.push((
            format!("bind {host}"),
            FsOp::Bind {
                src,
                dst: at(&host)?,
                flags: flags & !libc::MS_RDONLY,
            },
        ));
    }
    for (name, target) in [
        ("/dev/fd", "/proc/self/fd"),
        ("/dev/stdin", "/proc/self/fd/0"),
        ("/dev/stdout", "/proc/self/fd/1"),
        ("/dev/stderr", "/proc/self/fd/2"),
    ] {
        ops.push((
            format!("symlink {name}"),
            FsOp::Symlink {
                target: cstring(target)?,
                path: at(name)?,
            },
        ));
    }
    for (name, mode) in [("/dev/shm", 0o1777), ("/tmp", 0o1777), ("/work", 0o755)] {
        ops.push((
            format!("mkdir {name}"),
            FsOp::Mkdir {
                path: at(name)?,
                mode,
            },
        ));
    }
    ops.push((
        "chown /work".into(),
        FsOp::Chown {
            path: at("/work")?,
            uid,
            gid,
        },
    ));
    ops.push((
        "mkdir /proc".into(),
        FsOp::Mkdir {
            path: at("/proc")?,
            mode: 0o555,
        },
    ));
    ops.push(("mount /proc".into(), FsOp::Proc { path: at("/proc")? }));
    ops.push((
        "bind /proc/sys read-only".into(),
        FsOp::Bind {
            src: at("/proc/sys")?,
            dst: at("/proc/sys")?,
            flags: libc::MS_RDONLY | libc::MS_NOSUID | libc::MS_NODEV | libc::MS_NOEXEC,
        },
    ));
    for (name, data) in files {
        // Parent directories of a nested file (`lib/util.py`), owned by the program.
        let mut dir = String::from("/work");
        let parents: Vec<&str> = name.split('/').collect();
        for comp in &parents[..parents.len().saturating_sub(1)] {
            dir.push('/');
            dir.push_str(comp);
            if made.insert(dir.clone()) {
                ops.push((
                    format!("mkdir {dir}"),
                    FsOp::Mkdir {
                        path: at(&dir)?,
                        mode: 0o755,
                    },
                ));
                ops.push((
                    format!("chown {dir}"),
                    FsOp::Chown {
                        path: at(&dir)?,
                        uid,
                        gid,
                    },
                ));
            }
        }
        let path = format!("/work/{name}");
        ops.push((
            format!("write {path}"),
            FsOp::WriteFile {
                path: at(&path)?,
                data: data.to_vec(),
                mode: 0o644,
            },
        ));
        ops.push((
            format!("chown {path}"),
            FsOp::Chown {
                path: at(&path)?,
                uid,
                gid,
            },
        ));
    }
    Ok(ops)
}

/// Makes sure the host directory the run's root tmpfs is mounted on is safe to use:
/// created if missing, a real directory (opened with `O_NOFOLLOW`, so not a symlink
/// planted by someone else), owned by this user and writable by no one else, in a
/// parent no one else can swap it out of (not writable by others, or sticky like
/// `/tmp`). Another user who pre-creates the path makes this fail with a reason, never
/// makes the sandbox mount over their directory.
pub(crate) fn prepare_mount_point(path: &Path) -> Result<(), SandboxError> {
    let problem = |problem: String| SandboxError::RootDir {
        path: path.to_path_buf(),
        problem,
    };
    let parent = path
        .parent()
        .ok_or_else(|| problem("has no parent directory".into()))?;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o755)
        .create(parent)
        .map_err(|e| problem(format!("creating its parent: {e}")))?;
    let pmeta = std::fs::metadata(parent).map_err(|e| problem(format!("parent: {e}")))?;
    let sticky = pmeta.mode() & 0o1000 != 0;
    if pmeta.mode() & 0o022 != 0 && !sticky {
        return Err(problem(format!(
            "its parent is writable by other users (mode {:o}) without the sticky bit",
            pmeta.mode() & 0o7777
        )));
    }
    match std::fs::DirBuilder::new().mode(0o755).create(path) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(problem(format!("creating it: {e}"))),
    }
    let dir = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_DIRECTORY)
        .open(path)
        .map_err(|e| problem(format!("must be a directory, not a symlink: {e}")))?;
    let meta = dir.metadata().map_err(|e| problem(e.to_string()))?;
    let euid = sys::euid_egid().0;
    if meta.uid() != euid {
        return Err(problem(format!(
            "is owned by uid {}, not by this user (uid {euid}); another user created it",
            meta.uid()
        )));
    }
    if meta.mode() & 0o022 != 0 {
        return Err(problem(format!(
            "is writable by other users (mode {:o})",
            meta.mode() & 0o7777
        )));
    }
    Ok(())
}
