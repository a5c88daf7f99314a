//! What the store keeps about people and access, beside room history: accounts, sessions,
//! API tokens, owned rooms, memberships and invite links.
//!
//! Secrets never reach the store in clear: sessions, API tokens and invites are keyed by a
//! hash the server computes (`*_hash` fields), and passwords arrive as a password hash.
//! The store compares usernames exactly; the server folds them to lower case first.

/// A participant's rights in an owned room, weakest first (so `max` is the strongest).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Role {
    /// Reads the document and its history, announces presence; cannot edit or run.
    Viewer,
    /// Edits the document and starts or stops runs.
    Editor,
    /// The account that created the room: everything, plus managing access.
    Owner,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Editor => "editor",
            Role::Owner => "owner",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        [Role::Viewer, Role::Editor, Role::Owner]
            .into_iter()
            .find(|r| r.as_str() == s)
    }
}

/// Who may see an owned room without being a member or holding a link.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Visibility {
    /// Anyone may join and read it as a viewer.
    Public,
    /// Only members and holders of a valid invite link.
    Private,
}

impl Visibility {
    pub fn as_str(self) -> &'static str {
        match self {
            Visibility::Public => "public",
            Visibility::Private => "private",
        }
    }

    pub fn parse(s: &str) -> Option<Visibility> {
        [Visibility::Public, Visibility::Private]
            .into_iter()
            .find(|v| v.as_str() == s)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    /// Unique, already normalised by the server.
    pub username: String,
    /// A PHC string (argon2id); never the password.
    pub password_hash: String,
    pub created_ms: i64,
}

/// A signed-in browser: the cookie holds the session id, the store only its hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    pub id_hash: String,
    pub username: String,
    pub created_ms: i64,
    pub expires_ms: i64,
}

/// A script's credential (`Authorization: Bearer pct_…`); the store only has its hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiToken {
    /// Public id, for listing and revoking.
    pub id: String,
    pub username: String,
    /// What the user called it.
    pub name: String,
    pub token_hash: String,
    pub created_ms: i64,
}

/// A room somebody owns. Rooms without a row here are unowned (open to anyone).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OwnedRoom {
    pub room: String,
    pub owner: String,
    pub visibility: Visibility,
    pub created_ms: i64,
}

/// An account's role in an owned room (besides its owner).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    pub room: String,
    pub username: String,
    /// Editor or viewer.
    pub role: Role,
    pub added_ms: i64,
}

/// An invite link: whoever holds its token joins the room with its role.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invite {
    /// Public id, for listing and revoking; also names guests in the history.
    pub id: String,
    pub room: String,
    /// Editor or viewer.
    pub role: Role,
    pub token_hash: String,
    /// The account that made it.
    pub created_by: String,
    pub created_ms: i64,
    /// When the link stops working (Unix ms); `None`: never. The store keeps an expired
    /// link (its owner still sees and revokes it); the server refuses it.
    pub expires_ms: Option<i64>,
}

impl Invite {
    /// Whether the link has stopped working at `now_ms`.
    pub fn expired(&self, now_ms: i64) -> bool {
        self.expires_ms.is_some_and(|at| at <= now_ms)
    }
}
