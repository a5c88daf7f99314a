//! What only SQLite can get wrong: a database made before a migration gets it on open.

#![allow(clippy::unwrap_used)]

use peercode_store::{Durability, Invite, Role, SqliteStore, Store};

#[test]
fn invites_from_before_expiry_never_expire_and_new_ones_may() {
    let dir = tempfile::tempdir().unwrap();
    SqliteStore::open(dir.path(), Durability::Process)
        .unwrap()
        .close()
        .unwrap();
    // Back to how version 3 left the database (without the later migrations: invite
    // expiry, and 6's keyframe blob keys), with one invite in it.
    {
        let conn = rusqlite::Connection::open(dir.path().join("peercode.db")).unwrap();
        conn.execute_batch(
            "ALTER TABLE invites DROP COLUMN expires_ms;
             DROP INDEX snapshots_inline;
             ALTER TABLE snapshots DROP COLUMN blob_key;
             INSERT INTO invites (id, room, role, token_hash, created_by, created_ms)
             VALUES ('old', 'r', 'editor', 'hash-old', 'ada', 5);
             PRAGMA user_version = 3;",
        )
        .unwrap();
    }
    let store = SqliteStore::open(dir.path(), Durability::Process).unwrap();
    let old = store.invite("hash-old").unwrap().unwrap();
    assert_eq!((old.role, old.expires_ms), (Role::Editor, None));
    let new = Invite {
        id: "new".into(),
        room: "r".into(),
        role: Role::Viewer,
        token_hash: "hash-new".into(),
        created_by: "ada".into(),
        created_ms: 6,
        expires_ms: Some(60_006),
    };
    store.create_invite(&new).unwrap();
    assert_eq!(store.invite("hash-new").unwrap(), Some(new));
}
