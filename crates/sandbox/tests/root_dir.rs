//! The directory the run's root tmpfs is mounted on: by default root-owned under /run
//! (no other user can pre-create it, as they could a fixed name in /tmp), and any
//! configured one is refused, with a reason, when another user could own or swap it.

mod common;

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use peercode_sandbox::{Sandbox, SandboxConfig, SandboxError, Verdict};

const UID_BASE: u32 = 2_300_000;

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("peercode-rootdir-test-{name}"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir(&dir).expect("scratch dir");
    dir
}

fn refused(root_dir: &Path) -> String {
    let result = Sandbox::new(SandboxConfig {
        uid_base: UID_BASE,
        concurrency: 1,
        root_dir: root_dir.to_path_buf(),
        ..SandboxConfig::default()
    });
    match result {
        Err(e @ SandboxError::RootDir { .. }) => e.to_string(),
        Err(e) => panic!("refused for another reason: {e}"),
        Ok(_) => panic!("{} was accepted", root_dir.display()),
    }
}

#[tokio::test]
async fn the_default_root_dir_is_root_owned_and_not_in_tmp() {
    let config = SandboxConfig {
        uid_base: UID_BASE + 10,
        concurrency: 1,
        ..SandboxConfig::default()
    };
    let root = config.root_dir.clone();
    assert!(
        root.starts_with("/run"),
        "{} is not under /run",
        root.display()
    );
    let sb = Sandbox::new(config).expect("sandbox");
    for dir in [root.as_path(), root.parent().expect("parent")] {
        let meta = std::fs::symlink_metadata(dir).expect("exists");
        assert!(meta.is_dir(), "{} is a directory", dir.display());
        assert_eq!(meta.uid(), 0, "{} is root's", dir.display());
        assert_eq!(
            meta.mode() & 0o022,
            0,
            "{} is writable by others",
            dir.display()
        );
    }
    let out = common::run(&sb, common::req("python", "print('hi')")).await;
    assert_eq!(out.verdict, Verdict::Ok, "{out:?}");
    assert_eq!(out.stdout, "hi\n");
}

#[test]
fn a_root_dir_another_user_created_is_refused_not_mounted_on() {
    let dir = scratch("squat");
    let squatted = dir.join("root");
    std::fs::create_dir(&squatted).expect("mkdir");
    std::os::unix::fs::chown(&squatted, Some(65534), Some(65534)).expect("chown");
    let why = refused(&squatted);
    assert!(why.contains("owned by uid 65534"), "{why}");

    // A symlink planted where the directory should be.
    let link = dir.join("link");
    std::os::unix::fs::symlink("/etc", &link).expect("symlink");
    let why = refused(&link);
    assert!(why.contains("not a symlink"), "{why}");

    // Ours, but writable by everyone.
    let open = dir.join("open");
    std::fs::create_dir(&open).expect("mkdir");
    std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o777)).expect("chmod");
    let why = refused(&open);
    assert!(why.contains("writable by other users"), "{why}");

    // In a parent anyone may rename entries of (no sticky bit).
    let shared = dir.join("shared");
    std::fs::create_dir(&shared).expect("mkdir");
    std::fs::set_permissions(&shared, std::fs::Permissions::from_mode(0o777)).expect("chmod");
    let why = refused(&shared.join("root"));
    assert!(why.contains("parent is writable by other users"), "{why}");

    let _ = std::fs::remove_dir_all(&dir);
}
