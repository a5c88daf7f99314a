//! The owner's side of rooms (SPEC §2): create owned rooms, list mine, delete one with its
//! history, make and revoke invite links, set and remove members; and `access`, which
//! tells any caller their role in a room (for the web app's read-only editor and badges).
//!
//! A change to who may do what is written to the store first, then told to the room if it
//! is loaded, whose task applies it to the open connections at once.

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use peercode_store::{Invite, Member, OwnedRoom, Role, StoreError, Visibility};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::accounts::{db, json_body};
use crate::auth::access::RoomAccess;
use crate::auth::{self, Caller, CallerKind, secret};
use crate::rooms::{AccessMsg, PresentClient, RoomMsg};
use crate::runs::check_room;
use crate::{ApiError, AppShared};

/// Invite links one room holds at most.
const MAX_INVITES_PER_ROOM: usize = 100;

/// The shortest and longest life an invite link may be given (`expires_in_s`): a minute,
/// so a link can be sent before it dies, and 30 days. Without one a link lasts until it
/// is revoked, as links did before they could expire.
const INVITE_EXPIRY_S: std::ops::RangeInclusive<i64> = 60..=30 * 24 * 3600;

#[derive(Deserialize)]
struct NewRoom {
    visibility: String,
}

fn visibility(s: &str) -> Result<Visibility, ApiError> {
    Visibility::parse(s)
        .ok_or_else(|| ApiError::BadRequest("`visibility` is \"public\" or \"private\"".into()))
}

/// Roles a member or a link may be given.
fn grantable(s: &str) -> Result<Role, ApiError> {
    match Role::parse(s) {
        Some(role @ (Role::Editor | Role::Viewer)) => Ok(role),
        _ => Err(ApiError::BadRequest(
            "`role` is \"editor\" or \"viewer\"".into(),
        )),
    }
}

fn already_exists(error: &ApiError) -> bool {
    matches!(error, ApiError::Internal(e)
        if matches!(e.downcast_ref::<StoreError>(), Some(StoreError::AlreadyExists(_))))
}

/// Make `owner` the owner of a new room with a random free name, unless they own as many
/// as they may already.
pub async fn create_owned(
    app: &AppShared,
    owner: &str,
    visibility: Visibility,
) -> Result<OwnedRoom, ApiError> {
    let max = app.config.max_rooms_per_user;
    for _ in 0..4 {
        let owner = owner.to_owned();
        let made = db(app, move |store| {
            if store.owned_room_count(&owner)? >= max {
                return Ok(None);
            }
            let name = crate::replay::free_room_name(store)
                .map_err(|e| StoreError::Database(e.to_string().into()))?;
            let room = OwnedRoom {
                room: name,
                owner,
                visibility,
                created_ms: crate::rooms::now_ms(),
            };
            store.create_room(&room).map(|()| Some(room))
        })
        .await;
        match made {
            Ok(Some(room)) => return Ok(room),
            Ok(None) => {
                return Err(ApiError::Forbidden(format!(
                    "an account owns at most {max} rooms; delete one first"
                )));
            }
            Err(e) if already_exists(&e) => continue,
            Err(e) => return Err(e),
        }
    }
    Err(ApiError::Internal(anyhow::anyhow!(
        "no free room name found"
    )))
}

fn room_json(room: &OwnedRoom, role: Role) -> Value {
    json!({
        "room": room.room,
        "owner": room.owner,
        "visibility": room.visibility.as_str(),
        "role": role.as_str(),
        "created_ms": room.created_ms,
    })
}

/// `POST /api/rooms {"visibility"}` → `201 {"room", "owner", "visibility", "role",
/// "created_ms"}`.
pub async fn create(
    State(app): State<Arc<AppShared>>,
    caller: Caller,
    body: Result<Bytes, BytesRejection>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let user = caller.require_user()?;
    let request: NewRoom = json_body(body)?;
    let room = create_owned(&app, user, visibility(&request.visibility)?).await?;
    tracing::info!(room = %room.room, owner = %room.owner, "room created");
    Ok((StatusCode::CREATED, Json(room_json(&room, Role::Owner))))
}

/// `GET /api/rooms` → `{"rooms": [...]}`: the rooms I own or am a member of, newest first.
pub async fn mine(
    State(app): State<Arc<AppShared>>,
    caller: Caller,
) -> Result<Json<Value>, ApiError> {
    let user = caller.require_user()?.to_owned();
    let rooms = db(&app, move |store| store.rooms_of(&user)).await?;
    let rooms: Vec<Value> = rooms.iter().map(|(r, role)| room_json(r, *role)).collect();
    Ok(Json(json!({ "rooms": rooms })))
}

/// The caller's access to `room`, requiring `needed`.
async fn access(
    app: &AppShared,
    room: &str,
    caller: &Caller,
    needed: Role,
) -> Result<RoomAccess, ApiError> {
    check_room(room)?;
    let access = RoomAccess::resolve(app, room, caller).await?;
    access.require(needed)?;
    Ok(access)
}

/// The owned room behind an owner-only route (owners always have one).
fn owned(access: &RoomAccess) -> Result<&OwnedRoom, ApiError> {
    access
        .owned
        .as_ref()
        .ok_or_else(|| ApiError::Internal(anyhow::anyhow!("an owner without an owned room")))
}

/// `DELETE /api/rooms/{room}` (owner) → 204: history, snapshots, events, members and
/// invites are gone, open connections are closed (4004) and the room unloaded.
pub async fn delete(
    State(app): State<Arc<AppShared>>,
    caller: Caller,
    Path(room): Path<String>,
) -> Result<StatusCode, ApiError> {
    access(&app, &room, &caller, Role::Owner).await?;
    let persister = app.rooms.persister().clone();
    let store = persister.store().clone();
    let name = room.clone();
    let deletion = async move {
        tokio::task::spawn_blocking(move || {
            // Whatever the room submitted before it unloaded is written first, so nothing
            // of it outlives the deletion.
            if let Ok(written) = persister.barrier() {
                let _ = written.recv();
            }
            store.delete_room(&name)
        })
        .await
    };
    app.rooms
        .delete(&room, deletion)
        .await
        .map_err(|_| ApiError::Conflict("the room is already being deleted".into()))?
        .map_err(|e| ApiError::Internal(e.into()))?
        .map_err(|e| ApiError::Internal(e.into()))?;
    tracing::info!(%room, "room deleted");
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
struct RoleBody {
    role: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewInvite {
    role: String,
    /// Seconds from now until the link stops working; absent or null: never.
    #[serde(default)]
    expires_in_s: Option<i64>,
}

/// When a link made now (`now_ms`) with `expires_in_s` stops working.
fn invite_expiry(now_ms: i64, expires_in_s: Option<i64>) -> Result<Option<i64>, ApiError> {
    match expires_in_s {
        None => Ok(None),
        Some(s) if INVITE_EXPIRY_S.contains(&s) => Ok(Some(now_ms + s * 1000)),
        Some(_) => Err(ApiError::BadRequest(format!(
            "`expires_in_s` is from {} to {} seconds (30 days), or null for a link that does not expire",
            INVITE_EXPIRY_S.start(),
            INVITE_EXPIRY_S.end()
        ))),
    }
}

fn invite_json(invite: &Invite, now_ms: i64) -> Value {
    json!({
        "id": invite.id,
        "role": invite.role.as_str(),
        "created_by": invite.created_by,
        "created_ms": invite.created_ms,
        "expires_ms": invite.expires_ms,
        "expired": invite.expired(now_ms),
    })
}

/// `POST /api/rooms/{room}/invites {"role", "expires_in_s"?}` (owner) → `201 {"id",
/// "token", "url", "role", "created_ms", "expires_ms"}`; the token is shown this once. A
/// room at its limit of links first forgets its expired ones.
pub async fn create_invite(
    State(app): State<Arc<AppShared>>,
    caller: Caller,
    Path(room): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let access = access(&app, &room, &caller, Role::Owner).await?;
    owned(&access)?;
    let request: NewInvite = json_body(body)?;
    let role = grantable(&request.role)?;
    let now = crate::rooms::now_ms();
    let expires_ms = invite_expiry(now, request.expires_in_s)?;
    let token = secret::invite_token().map_err(ApiError::Internal)?;
    let invite = Invite {
        id: secret::public_id().map_err(ApiError::Internal)?,
        room: room.clone(),
        role,
        token_hash: secret::hash(&token),
        created_by: caller.require_user()?.to_owned(),
        created_ms: now,
        expires_ms,
    };
    let stored = invite.clone();
    let created = db(&app, move |store| {
        let existing = store.invites(&stored.room)?;
        if existing.len() >= MAX_INVITES_PER_ROOM {
            let mut left = existing.len();
            for old in existing.iter().filter(|i| i.expired(now)) {
                if store.delete_invite(&old.room, &old.id)? {
                    left -= 1;
                }
            }
            if left >= MAX_INVITES_PER_ROOM {
                return Ok(false);
            }
        }
        store.create_invite(&stored).map(|()| true)
    })
    .await?;
    if !created {
        return Err(ApiError::Forbidden(format!(
            "a room holds at most {MAX_INVITES_PER_ROOM} invite links; revoke one first"
        )));
    }
    Ok((
        StatusCode::CREATED,
        Json(json!({
            "id": invite.id,
            "token": token,
            "url": format!("/r/{room}?invite={token}"),
            "role": role.as_str(),
            "created_ms": invite.created_ms,
            "expires_ms": invite.expires_ms,
        })),
    ))
}

/// `GET /api/rooms/{room}/invites` (owner) → `{"invites": [{"id", "role", "created_by",
/// "created_ms", "expires_ms", "expired"}]}` (never the tokens; expired links stay listed
/// until revoked, or forgotten when the room needs room for a new one).
pub async fn list_invites(
    State(app): State<Arc<AppShared>>,
    caller: Caller,
    Path(room): Path<String>,
) -> Result<Json<Value>, ApiError> {
    access(&app, &room, &caller, Role::Owner).await?;
    let invites = db(&app, move |store| store.invites(&room)).await?;
    let now = crate::rooms::now_ms();
    let invites: Vec<Value> = invites.iter().map(|i| invite_json(i, now)).collect();
    Ok(Json(json!({ "invites": invites })))
}

/// `DELETE /api/rooms/{room}/invites/{id}` (owner) → 204; connections that came with the
/// link are closed (4003).
pub async fn delete_invite(
    State(app): State<Arc<AppShared>>,
    caller: Caller,
    Path((room, id)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    access(&app, &room, &caller, Role::Owner).await?;
    let (r, i) = (room.clone(), id.clone());
    if !db(&app, move |store| store.delete_invite(&r, &i)).await? {
        return Err(ApiError::NotFound("no such invite".into()));
    }
    app.rooms
        .tell(&room, RoomMsg::Access(AccessMsg::InviteRevoked { id }))
        .await;
    Ok(StatusCode::NO_CONTENT)
}

/// `PUT /api/rooms/{room}/members/{username} {"role"}` (owner) → `200 {"username",
/// "role"}`: adds the account as a member or changes its role, at once on its open
/// connections.
pub async fn set_member(
    State(app): State<Arc<AppShared>>,
    caller: Caller,
    Path((room, username)): Path<(String, String)>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<Value>, ApiError> {
    let access = access(&app, &room, &caller, Role::Owner).await?;
    let owner = owned(&access)?.owner.clone();
    let request: RoleBody = json_body(body)?;
    let role = grantable(&request.role)?;
    let username = auth::normalize_username(&username)
        .map_err(|_| ApiError::NotFound("no such user".into()))?;
    if username == owner {
        return Err(ApiError::BadRequest(
            "the owner's role cannot change".into(),
        ));
    }
    let member = Member {
        room: room.clone(),
        username: username.clone(),
        role,
        added_ms: crate::rooms::now_ms(),
    };
    let name = username.clone();
    let exists = db(&app, move |store| {
        if store.account(&name)?.is_none() {
            return Ok(false);
        }
        store.set_member(&member).map(|()| true)
    })
    .await?;
    if !exists {
        return Err(ApiError::NotFound("no such user".into()));
    }
    let msg = AccessMsg::Member {
        username: username.clone(),
        role: Some(role),
    };
    app.rooms.tell(&room, RoomMsg::Access(msg)).await;
    Ok(Json(json!({ "username": username, "role": role.as_str() })))
}

/// `DELETE /api/rooms/{room}/members/{username}` (owner) → 204; the member's open
/// connections are closed (4003).
pub async fn remove_member(
    State(app): State<Arc<AppShared>>,
    caller: Caller,
    Path((room, username)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    access(&app, &room, &caller, Role::Owner).await?;
    let username = username.to_ascii_lowercase();
    let (r, u) = (room.clone(), username.clone());
    if !db(&app, move |store| store.remove_member(&r, &u)).await? {
        return Err(ApiError::NotFound("no such member".into()));
    }
    let msg = AccessMsg::Member {
        username,
        role: None,
    };
    app.rooms.tell(&room, RoomMsg::Access(msg)).await;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /api/rooms/{room}/members` (the owner and members) → `{"owner", "members":
/// [{"username", "role", "added_ms"}]}`.
pub async fn members(
    State(app): State<Arc<AppShared>>,
    caller: Caller,
    Path(room): Path<String>,
) -> Result<Json<Value>, ApiError> {
    check_room(&room)?;
    let user = caller.require_user()?;
    let access = RoomAccess::resolve(&app, &room, &caller).await?;
    let is_member = access.grants.owner || access.grants.member.is_some();
    if !is_member {
        // Strangers of a private room learn nothing; others are told they are not members.
        access.require(Role::Viewer)?;
        return Err(ApiError::Forbidden(format!(
            "only the room's owner and members see its members ({user} is neither)"
        )));
    }
    let owner = owned(&access)?.owner.clone();
    let members = db(&app, move |store| store.members(&room)).await?;
    let members: Vec<Value> = members
        .into_iter()
        .map(|m| json!({ "username": m.username, "role": m.role.as_str(), "added_ms": m.added_ms }))
        .collect();
    Ok(Json(json!({ "owner": owner, "members": members })))
}

/// `GET /api/rooms/{room}/access` → `{"role", "owned", "visibility", "you": {"kind",
/// "name"}}` for the caller (cookie, Bearer or `?invite=`); 404 for strangers of a private
/// room, 403 for an unowned room when anonymous rooms are off.
pub async fn room_access(
    State(app): State<Arc<AppShared>>,
    caller: Caller,
    Path(room): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let access = access(&app, &room, &caller, Role::Viewer).await?;
    let name = match caller.kind() {
        CallerKind::User => caller.user.clone(),
        CallerKind::Guest => caller
            .name
            .as_deref()
            .and_then(|n| auth::display_name(n, "a name").ok()),
        CallerKind::Anonymous => None,
    };
    Ok(Json(json!({
        "room": room,
        "role": access.role().map(Role::as_str),
        "owned": access.owned.is_some(),
        "owner": access.owned.as_ref().map(|r| r.owner.clone()),
        "visibility": access.owned.as_ref().map(|r| r.visibility.as_str()),
        "you": { "kind": caller.kind().as_str(), "name": name },
    })))
}

/// `GET /api/rooms/{room}/people` (anyone who may read the room) → `{"people": [{"client",
/// "role", "kind"}]}`: each Yjs client present in the loaded room with the role and kind
/// (`user`, `guest`, `anonymous`) the server gave its connection, so badges do not rest on
/// what a client says about itself. No names: those are in presence already, and an
/// account's username is not shown to a public room's viewers. A room that is not loaded
/// has nobody present (and is not loaded for the question).
pub async fn people(
    State(app): State<Arc<AppShared>>,
    caller: Caller,
    Path(room): Path<String>,
) -> Result<Json<Value>, ApiError> {
    access(&app, &room, &caller, Role::Viewer).await?;
    let people: Vec<PresentClient> = app
        .rooms
        .ask_loaded(&room, |reply| RoomMsg::People { reply })
        .await
        .unwrap_or_default();
    Ok(Json(json!({ "people": people })))
}
