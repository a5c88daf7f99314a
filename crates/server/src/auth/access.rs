//! What a caller may do in a room: the grants they hold (owner, member, invite link,
//! public room, open unowned room), the role those add up to, and the refusal when it is
//! not enough. [`decide`] and [`refusal`] are pure; [`RoomAccess::resolve`] reads the store.

use peercode_store::{OwnedRoom, Role, Store, Visibility};

use super::{Caller, CallerKind};
use crate::{ApiError, AppShared};

/// Everything that gives a caller a role in one room. A connection keeps its grants, so a
/// change to one of them (a role change, a revoked link) can be applied on its own.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Grants {
    /// The caller owns the room.
    pub owner: bool,
    /// Their membership's role.
    pub member: Option<Role>,
    /// The role of the invite link they came with.
    pub link: Option<Role>,
    /// The room is public: everyone may view it.
    pub public: bool,
    /// The room is unowned and unowned rooms are allowed: everyone may edit it.
    pub open: bool,
}

impl Grants {
    /// The strongest role the grants give (`None`: no access at all).
    pub fn role(&self) -> Option<Role> {
        [
            self.owner.then_some(Role::Owner),
            self.member,
            self.link,
            self.public.then_some(Role::Viewer),
            self.open.then_some(Role::Editor),
        ]
        .into_iter()
        .flatten()
        .max()
    }
}

/// The grants of a caller: `room` is the owned room (`None`: nobody owns it), `member`
/// the caller's membership role in it, `link` the role of a valid invite link for it.
pub fn decide(
    room: Option<&OwnedRoom>,
    user: Option<&str>,
    member: Option<Role>,
    link: Option<Role>,
    anonymous_rooms: bool,
) -> Grants {
    match room {
        None => Grants {
            open: anonymous_rooms,
            ..Grants::default()
        },
        Some(room) => Grants {
            owner: user.is_some_and(|u| u == room.owner),
            member,
            link,
            public: room.visibility == Visibility::Public,
            open: false,
        },
    }
}

/// Why a caller with `grants` may not do what needs `needed`: a private room is a 404 to
/// anyone without a role in it (its existence is not revealed); an unowned room on a server
/// without anonymous rooms is a 403; otherwise 401 for a caller who has not said who they
/// are and 403 for one who has. Owner-only actions are a 401 to anyone not signed in,
/// before anything else.
pub fn refusal(
    room: Option<&OwnedRoom>,
    grants: &Grants,
    kind: CallerKind,
    needed: Role,
) -> ApiError {
    let role = grants.role();
    if needed == Role::Owner && kind != CallerKind::User {
        return ApiError::Unauthorized("sign in as the room's owner".into());
    }
    match (room, role) {
        (None, None) => {
            return ApiError::Forbidden(
                "this server only allows rooms with an owner: sign in and create one".into(),
            );
        }
        (Some(_), None) => return ApiError::NotFound("no such room".into()),
        _ => {}
    }
    if kind == CallerKind::Anonymous {
        return ApiError::Unauthorized(
            "sign in (or use an invite link) to do this in this room".into(),
        );
    }
    let what = match needed {
        Role::Owner if room.is_none() => {
            return ApiError::Forbidden(
                "nobody owns this room, so its access cannot change".into(),
            );
        }
        Role::Owner => "only the room's owner may do this",
        _ => "your role in this room does not allow this",
    };
    let role = role.map_or("none", Role::as_str);
    ApiError::Forbidden(format!("{what} (your role: {role})"))
}

/// A caller's access to one room, read from the store.
#[derive(Debug, Clone)]
pub struct RoomAccess {
    /// The owned room (`None`: nobody owns it).
    pub owned: Option<OwnedRoom>,
    pub grants: Grants,
    pub kind: CallerKind,
}

impl RoomAccess {
    pub fn role(&self) -> Option<Role> {
        self.grants.role()
    }

    /// The caller's role if it is at least `needed`, else the fitting refusal.
    pub fn require(&self, needed: Role) -> Result<Role, ApiError> {
        match self.role() {
            Some(role) if role >= needed => Ok(role),
            _ => Err(refusal(
                self.owned.as_ref(),
                &self.grants,
                self.kind,
                needed,
            )),
        }
    }

    /// Read the room's owner record and the caller's membership.
    pub async fn resolve(app: &AppShared, room: &str, caller: &Caller) -> Result<Self, ApiError> {
        let store = app.persister.store().clone();
        let (room, user) = (room.to_owned(), caller.user.clone());
        let link = caller
            .invite
            .as_ref()
            .filter(|invite| invite.room == room)
            .map(|invite| invite.role);
        let presented_elsewhere = caller.invite.is_some() && link.is_none();
        let anonymous_rooms = app.config.anonymous_rooms;
        let kind = caller.kind();
        tokio::task::spawn_blocking(move || {
            Self::read(&*store, &room, user.as_deref(), link, anonymous_rooms, kind)
        })
        .await
        .map_err(|e| ApiError::Internal(e.into()))?
        .and_then(|access| {
            if presented_elsewhere {
                // A link of another room: as good as a forged one here.
                Err(ApiError::Unauthorized(
                    "invalid or revoked invite link".into(),
                ))
            } else {
                Ok(access)
            }
        })
    }

    fn read(
        store: &dyn Store,
        room: &str,
        user: Option<&str>,
        link: Option<Role>,
        anonymous_rooms: bool,
        kind: CallerKind,
    ) -> Result<Self, ApiError> {
        let internal = |e: peercode_store::StoreError| ApiError::Internal(e.into());
        let owned = store.owned_room(room).map_err(internal)?;
        let member = match (&owned, user) {
            (Some(_), Some(user)) => store.member_role(room, user).map_err(internal)?,
            _ => None,
        };
        let grants = decide(owned.as_ref(), user, member, link, anonymous_rooms);
        Ok(RoomAccess {
            owned,
            grants,
            kind,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::response::IntoResponse;

    fn room(visibility: Visibility) -> OwnedRoom {
        OwnedRoom {
            room: "r".into(),
            owner: "ada".into(),
            visibility,
            created_ms: 0,
        }
    }

    fn status(e: ApiError) -> u16 {
        e.into_response().status().as_u16()
    }

    /// Every caller × room kind × action, as (role, status when refused).
    #[test]
    fn the_permission_table() {
        use CallerKind::*;
        let private = room(Visibility::Private);
        let public = room(Visibility::Public);
        // (who, user, member, link, kind)
        type Who = (
            &'static str,
            Option<&'static str>,
            Option<Role>,
            Option<Role>,
            CallerKind,
        );
        let callers: [Who; 7] = [
            ("owner", Some("ada"), None, None, User),
            ("editor", Some("bob"), Some(Role::Editor), None, User),
            ("viewer", Some("cy"), Some(Role::Viewer), None, User),
            ("guest-editor", None, None, Some(Role::Editor), Guest),
            ("guest-viewer", None, None, Some(Role::Viewer), Guest),
            ("stranger", Some("eve"), None, None, User),
            ("signed-out", None, None, None, Anonymous),
        ];
        // Expected per caller: [read, write, manage] as 0 = allowed, else the status.
        let expect_private = [
            [0, 0, 0],
            [0, 0, 403],
            [0, 403, 403],
            [0, 0, 401],
            [0, 403, 401],
            [404, 404, 404],
            [404, 404, 401],
        ];
        let expect_public = [
            [0, 0, 0],
            [0, 0, 403],
            [0, 403, 403],
            [0, 0, 401],
            [0, 403, 401],
            [0, 403, 403],
            [0, 401, 401],
        ];
        let expect_open = [0, 0, 403];
        for (room, expected) in [
            (Some(&private), expect_private),
            (Some(&public), expect_public),
        ] {
            for ((who, user, member, link, kind), expected) in callers.iter().zip(expected) {
                let grants = decide(room, *user, *member, *link, true);
                let access = RoomAccess {
                    owned: room.cloned(),
                    grants,
                    kind: *kind,
                };
                for (needed, want) in [Role::Viewer, Role::Editor, Role::Owner]
                    .iter()
                    .zip(expected)
                {
                    let got = access.require(*needed).map_or_else(status, |_| 0);
                    assert_eq!(
                        got,
                        want,
                        "{who} needing {needed:?} in a {:?} room",
                        room.map(|r| r.visibility)
                    );
                }
            }
        }
        // Unowned rooms: everyone edits; nobody manages; with anonymous rooms off nobody
        // gets in (403, whoever they are).
        for (who, user, _, _, kind) in callers {
            let access = RoomAccess {
                owned: None,
                grants: decide(None, user, None, None, true),
                kind,
            };
            assert_eq!(access.role(), Some(Role::Editor), "{who}");
            let got: Vec<u16> = [Role::Viewer, Role::Editor, Role::Owner]
                .iter()
                .map(|n| access.require(*n).map_or_else(status, |_| 0))
                .collect();
            let manage = if kind == User { 403 } else { 401 };
            assert_eq!(got, [expect_open[0], expect_open[1], manage], "{who}");
            let closed = RoomAccess {
                owned: None,
                grants: decide(None, user, None, None, false),
                kind,
            };
            assert_eq!(
                closed.require(Role::Viewer).map_err(status),
                Err(403),
                "{who}"
            );
            let manage = if kind == User { 403 } else { 401 };
            assert_eq!(
                closed.require(Role::Owner).map_err(status),
                Err(manage),
                "{who}"
            );
        }
    }

    #[test]
    fn the_strongest_grant_wins() {
        let g = Grants {
            member: Some(Role::Viewer),
            link: Some(Role::Editor),
            public: true,
            ..Grants::default()
        };
        assert_eq!(g.role(), Some(Role::Editor));
        assert_eq!(Grants::default().role(), None);
        let g = Grants {
            public: true,
            ..Grants::default()
        };
        assert_eq!(g.role(), Some(Role::Viewer));
    }
}
