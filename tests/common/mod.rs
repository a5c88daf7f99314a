//! Test helpers: start the server on an ephemeral port (in this process, or the real
//! `peercode` binary) and talk to it as a y-websocket client would, with a `yrs` document
//! on the client side.

#![allow(dead_code)]

/// moto's S3 server, shared with the store crate's tests.
#[path = "../../crates/store/tests/common/moto.rs"]
pub mod moto;
pub mod redis;
pub mod worker;

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use peercode_protocol::{AwarenessEntry, Message, decode_awareness, encode_awareness};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message as Ws;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};
use tokio_util::sync::CancellationToken;
use yrs::updates::decoder::Decode;
use yrs::updates::encoder::Encode;
use yrs::{Doc, GetString, ReadTxn, StateVector, Text, Transact, Update};

/// A running server: in this process (most tests) or the real `peercode serve` binary
/// (tests that kill or restart it). Stopped when dropped.
pub struct Server {
    running: Running,
    pub addr: String,
    pub data_dir: PathBuf,
}

enum Running {
    /// `peercode serve` as a child process.
    Binary(Option<Child>),
    /// `peercode_server::serve_on` on a runtime of its own, in a thread of this process.
    InProcess {
        shutdown: CancellationToken,
        thread: Option<std::thread::JoinHandle<anyhow::Result<()>>>,
    },
    Stopped,
}

impl Server {
    /// The server in this process, on its own multi-threaded runtime (as the binary
    /// runs it), with `extra` flags of `peercode serve`.
    pub fn start(data_dir: &Path, extra: &[&str]) -> Server {
        let mut args: Vec<std::ffi::OsString> = vec!["--listen".into(), "127.0.0.1:0".into()];
        args.push("--data-dir".into());
        args.push(data_dir.into());
        args.extend(extra.iter().map(Into::into));
        let config = peercode_server::Config::from_args(args).expect("valid flags");
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        listener
            .set_nonblocking(true)
            .expect("non-blocking listener");
        let addr = listener.local_addr().expect("local addr").to_string();
        let shutdown = CancellationToken::new();
        let token = shutdown.clone();
        let thread = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()?;
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener)?;
                peercode_server::serve_on(listener, config, token).await
            })
        });
        Server {
            running: Running::InProcess {
                shutdown,
                thread: Some(thread),
            },
            addr,
            data_dir: data_dir.to_owned(),
        }
    }

    /// The real `peercode serve` binary, for tests that kill it or restart it.
    pub fn spawn(data_dir: &Path, extra: &[&str]) -> Server {
        Server::spawn_with(data_dir, extra, "warn", Stdio::inherit(), &[])
    }

    /// The binary with these environment variables too (S3 credentials, say).
    pub fn spawn_env(data_dir: &Path, extra: &[&str], env: &[(&str, &str)]) -> Server {
        Server::spawn_with(data_dir, extra, "warn", Stdio::inherit(), env)
    }

    /// The binary with `RUST_LOG=rust_log`, its log (stderr) written to `log`.
    pub fn spawn_logged(data_dir: &Path, extra: &[&str], rust_log: &str, log: &Path) -> Server {
        let file = std::fs::File::create(log).expect("create the log file");
        Server::spawn_with(data_dir, extra, rust_log, Stdio::from(file), &[])
    }

    fn spawn_with(
        data_dir: &Path,
        extra: &[&str],
        rust_log: &str,
        stderr: Stdio,
        env: &[(&str, &str)],
    ) -> Server {
        let mut child = Command::new(env!("CARGO_BIN_EXE_peercode"))
            .arg("serve")
            .args(["--listen", "127.0.0.1:0", "--data-dir"])
            .arg(data_dir)
            .args(extra)
            .envs(env.iter().copied())
            .env("RUST_LOG", rust_log)
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .expect("start peercode serve");
        let stdout = child.stdout.take().expect("stdout");
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .expect("read listen line");
        let addr = line
            .trim()
            .rsplit("http://")
            .next()
            .filter(|a| !a.is_empty())
            .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
            .to_owned();
        Server {
            running: Running::Binary(Some(child)),
            addr,
            data_dir: data_dir.to_owned(),
        }
    }

    /// SIGKILL the binary: no chance to flush anything.
    pub fn kill(&mut self) {
        if let Running::Binary(child) = &mut self.running
            && let Some(mut child) = child.take()
        {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// A graceful shutdown (SIGTERM for the binary); true when it ended cleanly.
    pub fn stop(&mut self) -> bool {
        match std::mem::replace(&mut self.running, Running::Stopped) {
            Running::Binary(Some(child)) => {
                nix::sys::signal::kill(
                    nix::unistd::Pid::from_raw(child.id() as i32),
                    nix::sys::signal::Signal::SIGTERM,
                )
                .expect("send SIGTERM");
                child
                    .wait_with_output()
                    .is_ok_and(|out| out.status.success())
            }
            Running::InProcess {
                shutdown,
                mut thread,
            } => {
                shutdown.cancel();
                thread
                    .take()
                    .and_then(|t| t.join().ok())
                    .is_some_and(|result| result.is_ok())
            }
            Running::Binary(None) | Running::Stopped => false,
        }
    }

    pub fn url(&self, room: &str) -> String {
        format!("ws://{}/ws/{room}", self.addr)
    }

    pub async fn get(&self, path: &str) -> (u16, String) {
        let response = reqwest::get(format!("http://{}{path}", self.addr))
            .await
            .expect("http request");
        let status = response.status().as_u16();
        (status, response.text().await.unwrap_or_default())
    }

    /// POST a JSON body; (status, parsed JSON body or Null).
    pub async fn post(&self, path: &str, body: serde_json::Value) -> (u16, serde_json::Value) {
        let response = reqwest::Client::new()
            .post(format!("http://{}{path}", self.addr))
            .json(&body)
            .send()
            .await
            .expect("http request");
        let status = response.status().as_u16();
        (
            status,
            response.json().await.unwrap_or(serde_json::Value::Null),
        )
    }

    /// GET a JSON answer; (status, parsed JSON body or Null).
    pub async fn get_json(&self, path: &str) -> (u16, serde_json::Value) {
        let (status, body) = self.get(path).await;
        (
            status,
            serde_json::from_str(&body).unwrap_or(serde_json::Value::Null),
        )
    }

    /// An HTTP request with credentials; the answer's status, JSON body (or Null) and
    /// headers.
    pub async fn call(
        &self,
        method: &str,
        path: &str,
        cred: &Cred,
        body: Option<serde_json::Value>,
    ) -> Reply {
        let method = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
        let mut request = reqwest::Client::new()
            .request(method, format!("http://{}{}", self.addr, cred.path(path)));
        if let Some(cookie) = &cred.cookie {
            request = request.header("cookie", cookie);
        }
        if let Some(token) = &cred.bearer {
            request = request.header("authorization", format!("Bearer {token}"));
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.expect("http request");
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let text = response.text().await.unwrap_or_default();
        Reply {
            status,
            body: serde_json::from_str(&text).unwrap_or(serde_json::Value::Null),
            headers,
        }
    }

    /// Sign up `username` and return the cookie that signs them in (`peercode_session=…`).
    pub async fn signup(&self, username: &str, password: &str) -> Cred {
        let reply = self
            .call(
                "POST",
                "/api/auth/signup",
                &Cred::default(),
                Some(serde_json::json!({ "username": username, "password": password })),
            )
            .await;
        assert_eq!(reply.status, 200, "sign up {username}: {:?}", reply.body);
        Cred::cookie_from(&reply)
    }

    /// A WebSocket URL for `room` with `cred`'s query parameters.
    pub fn ws_url(&self, room: &str, cred: &Cred) -> String {
        cred.path(&self.url(room))
    }

    /// The value of an unlabelled metric.
    pub async fn metric(&self, name: &str) -> f64 {
        let (_, body) = self.get("/metrics").await;
        body.lines()
            .find_map(|l| l.strip_prefix(name).and_then(|rest| rest.strip_prefix(' ')))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or_else(|| panic!("metric {name} missing"))
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        match &self.running {
            Running::Binary(_) => self.kill(),
            Running::InProcess { .. } => {
                self.stop();
            }
            Running::Stopped => {}
        }
    }
}

/// How a test client proves who it is: a session cookie, a Bearer token, query parameters
/// (`token=…`, `invite=…&name=…`).
#[derive(Debug, Clone, Default)]
pub struct Cred {
    pub cookie: Option<String>,
    pub bearer: Option<String>,
    pub query: String,
}

impl Cred {
    pub fn cookie(cookie: &str) -> Cred {
        Cred {
            cookie: Some(cookie.to_owned()),
            ..Cred::default()
        }
    }

    pub fn bearer(token: &str) -> Cred {
        Cred {
            bearer: Some(token.to_owned()),
            ..Cred::default()
        }
    }

    pub fn query(query: &str) -> Cred {
        Cred {
            query: query.to_owned(),
            ..Cred::default()
        }
    }

    /// The session cookie a reply set (`peercode_session=…`).
    pub fn cookie_from(reply: &Reply) -> Cred {
        let set = reply
            .headers
            .get("set-cookie")
            .and_then(|v| v.to_str().ok())
            .expect("a Set-Cookie header");
        Cred::cookie(set.split(';').next().expect("name=value"))
    }

    /// `path` with this credential's query parameters added.
    pub fn path(&self, path: &str) -> String {
        if self.query.is_empty() {
            path.to_owned()
        } else if path.contains('?') {
            format!("{path}&{}", self.query)
        } else {
            format!("{path}?{}", self.query)
        }
    }
}

/// An HTTP answer.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub body: serde_json::Value,
    pub headers: reqwest::header::HeaderMap,
}

/// Wait until `done` holds, checking every few milliseconds; false after `timeout`.
pub async fn wait_until(mut done: impl FnMut() -> bool, timeout: Duration) -> bool {
    let deadline = tokio::time::Instant::now() + timeout;
    while !done() {
        if tokio::time::Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    true
}

/// A y-websocket client with its own document; the shared text is the root `Y.Text` "t".
pub struct Client {
    ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
    pub doc: Doc,
    /// Awareness states seen: client id → (clock, JSON state or None once removed).
    pub awareness: HashMap<u64, (u64, Option<String>)>,
    /// Close code and reason if the server closed the connection.
    pub closed: Option<(u16, String)>,
    pub synced: bool,
    /// Update messages received (broadcasts, including echoes of our own).
    pub updates_received: usize,
    /// Permission-denied (auth) messages received.
    pub denied: usize,
    awareness_clock: u64,
}

impl Client {
    fn over(ws: WebSocketStream<MaybeTlsStream<TcpStream>>, client_id: u64) -> Client {
        Client {
            ws,
            doc: Doc::with_client_id(client_id),
            awareness: HashMap::new(),
            closed: None,
            synced: false,
            updates_received: 0,
            denied: 0,
            awareness_clock: 0,
        }
    }

    pub async fn connect(url: &str, client_id: u64) -> Client {
        let (ws, _) = tokio_tungstenite::connect_async(url)
            .await
            .expect("websocket connect");
        Client::over(ws, client_id)
    }

    /// Connect and finish the sync handshake as a reconnecting editor would try it:
    /// `None`, not a panic, when the connection fails or is closed first (an instance
    /// tells its clients to reconnect while a room moves to another).
    pub async fn try_join(url: &str, client_id: u64) -> Option<Client> {
        let (ws, _) = tokio_tungstenite::connect_async(url).await.ok()?;
        let mut c = Client::over(ws, client_id);
        c.handshake(Duration::from_secs(10)).await.then_some(c)
    }

    /// Send a sync step 1 and wait up to `timeout` for its answer: false if none came (the
    /// connection failed or was closed first).
    async fn handshake(&mut self, timeout: Duration) -> bool {
        self.synced = false;
        let sv = self.doc.transact().state_vector().encode_v1();
        let hello = Ws::Binary(Message::SyncStep1(sv.into()).encode());
        self.ws.send(hello).await.is_ok() && self.pump_until(|c| c.synced, timeout).await
    }

    /// Connect with a cookie header (`None`: without); `Err(status)` when the server
    /// refuses the upgrade.
    pub async fn connect_as(
        url: &str,
        client_id: u64,
        cookie: Option<&str>,
    ) -> Result<Client, u16> {
        use tokio_tungstenite::tungstenite::client::IntoClientRequest;
        let mut request = url.into_client_request().expect("websocket request");
        if let Some(cookie) = cookie {
            request
                .headers_mut()
                .insert("cookie", cookie.parse().expect("cookie header"));
        }
        match tokio_tungstenite::connect_async(request).await {
            Ok((ws, _)) => Ok(Client::over(ws, client_id)),
            Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
                Err(response.status().as_u16())
            }
            Err(error) => panic!("websocket connect: {error}"),
        }
    }

    /// [`Client::connect_as`] and the sync handshake.
    pub async fn join_as(url: &str, client_id: u64, cookie: Option<&str>) -> Result<Client, u16> {
        let mut c = Client::connect_as(url, client_id, cookie).await?;
        assert!(c.handshake(Duration::from_secs(10)).await, "sync handshake");
        Ok(c)
    }

    /// Connect and finish the sync handshake.
    pub async fn join(url: &str, client_id: u64) -> Client {
        let mut c = Client::connect(url, client_id).await;
        assert!(c.handshake(Duration::from_secs(10)).await, "sync handshake");
        c
    }

    /// Wait until the server has committed everything this client sent before: the
    /// server answers a sync step 1 only once the updates ahead of it on this connection
    /// are committed, so the answer is the acknowledgement.
    pub async fn committed(&mut self) {
        assert!(
            self.handshake(Duration::from_secs(60)).await,
            "the server acknowledges what this client sent; closed: {:?}",
            self.closed
        );
    }

    pub async fn send(&mut self, message: Message) {
        self.send_raw(message.encode()).await;
    }

    pub async fn send_raw(&mut self, frame: Bytes) {
        if let Err(e) = self.ws.send(Ws::Binary(frame)).await {
            panic!("send frame: {e}; closed: {:?}", self.closed);
        }
    }

    pub async fn send_frame(&mut self, frame: Ws) -> bool {
        self.ws.send(frame).await.is_ok()
    }

    /// Like [`Client::type_text`], but false instead of a panic once the server is gone.
    pub async fn try_type_text(&mut self, text: &str) -> bool {
        let update = self.local_insert(text);
        self.ws
            .send(Ws::Binary(Message::Update(update.into()).encode()))
            .await
            .is_ok()
    }

    fn local_insert(&mut self, text: &str) -> Vec<u8> {
        let t = self.doc.get_or_insert_text("t");
        let mut txn = self.doc.transact_mut();
        let len = t.len(&txn);
        t.insert(&mut txn, len, text);
        txn.encode_update_v1()
    }

    /// Insert at the end of "t" and send the update.
    pub async fn type_text(&mut self, text: &str) {
        let update = self.local_insert(text);
        self.send(Message::Update(update.into())).await;
    }

    /// Replace the text of file `path` in the room's `files` map (creating it) and send
    /// the update.
    pub async fn set_file(&mut self, path: &str, text: &str) {
        use yrs::{Map, TextPrelim};
        let files = self.doc.get_or_insert_map("files");
        let update = {
            let mut txn = self.doc.transact_mut();
            match files.get(&txn, path) {
                Some(yrs::Out::YText(t)) => {
                    let len = t.len(&txn);
                    t.remove_range(&mut txn, 0, len);
                    t.insert(&mut txn, 0, text);
                }
                _ => {
                    files.insert(&mut txn, path, TextPrelim::new(text));
                }
            }
            txn.encode_update_v1()
        };
        self.send(Message::Update(update.into())).await;
    }

    /// Append `text` to file `path` of the room's `files` map and send the update; the
    /// file must exist (every room starts with `main.py`).
    pub async fn append_file(&mut self, path: &str, text: &str) {
        let update = self.local_append(path, text);
        self.send(Message::Update(update.into())).await;
    }

    /// Append each of `texts` to file `path` as an update of its own, all sent in one
    /// write: keystrokes that reach the server back to back.
    pub async fn append_file_burst(&mut self, path: &str, texts: &[String]) {
        for text in texts {
            let update = self.local_append(path, text);
            let frame = Ws::Binary(Message::Update(update.into()).encode());
            self.ws.feed(frame).await.expect("queue a frame");
        }
        self.ws.flush().await.expect("send the frames");
    }

    fn local_append(&mut self, path: &str, text: &str) -> Vec<u8> {
        use yrs::Map;
        let files = self.doc.get_or_insert_map("files");
        let mut txn = self.doc.transact_mut();
        let Some(yrs::Out::YText(t)) = files.get(&txn, path) else {
            panic!("no file {path} in this client's document")
        };
        let len = t.len(&txn);
        t.insert(&mut txn, len, text);
        txn.encode_update_v1()
    }

    /// The text of file `path` as this client holds it.
    pub fn file_text(&self, path: &str) -> Option<String> {
        use yrs::Map;
        let files = self.doc.get_or_insert_map("files");
        let txn = self.doc.transact();
        match files.get(&txn, path)? {
            yrs::Out::YText(t) => Some(t.get_string(&txn)),
            _ => None,
        }
    }

    /// A field of run `id` in the room's `runs` map, as JSON (texts as strings).
    pub fn run_field(&self, id: &str, key: &str) -> serde_json::Value {
        use yrs::Map;
        let runs = self.doc.get_or_insert_map("runs");
        let txn = self.doc.transact();
        let Some(yrs::Out::YMap(run)) = runs.get(&txn, id) else {
            return serde_json::Value::Null;
        };
        match run.get(&txn, key) {
            Some(yrs::Out::YText(t)) => t.get_string(&txn).into(),
            Some(yrs::Out::Any(yrs::Any::String(s))) => s.to_string().into(),
            Some(yrs::Out::Any(yrs::Any::Number(n))) => match n {
                yrs::Number::Int(i) => i.into(),
                yrs::Number::Float(f) => f.into(),
            },
            Some(yrs::Out::Any(yrs::Any::Bool(b))) => b.into(),
            _ => serde_json::Value::Null,
        }
    }

    /// How many runs the room's `runs` map holds here.
    pub fn run_count(&self) -> u32 {
        use yrs::Map;
        let runs = self.doc.get_or_insert_map("runs");
        runs.len(&self.doc.transact())
    }

    pub fn text(&self) -> String {
        let t = self.doc.get_or_insert_text("t");
        t.get_string(&self.doc.transact())
    }

    pub fn state_vector(&self) -> StateVector {
        self.doc.transact().state_vector()
    }

    pub async fn set_awareness(&mut self, state: &str) {
        self.awareness_clock += 1;
        let entry = AwarenessEntry {
            client_id: self.doc.client_id().get(),
            clock: self.awareness_clock,
            state,
        };
        self.send(Message::Awareness(encode_awareness(&[entry]).into()))
            .await;
    }

    /// Process one incoming frame; false on timeout or when the connection ended.
    pub async fn pump_once(&mut self, timeout: Duration) -> bool {
        let frame = match tokio::time::timeout(timeout, self.ws.next()).await {
            Err(_) => return false,
            Ok(None) | Ok(Some(Err(_))) => {
                self.closed.get_or_insert((1006, String::new()));
                return false;
            }
            Ok(Some(Ok(frame))) => frame,
        };
        match frame {
            Ws::Binary(bytes) => self.handle(&bytes).await,
            Ws::Close(frame) => {
                let (code, reason) = frame.map_or((1005, String::new()), |f| {
                    (u16::from(f.code), f.reason.to_string())
                });
                self.closed = Some((code, reason));
                return false;
            }
            _ => {}
        }
        true
    }

    async fn handle(&mut self, bytes: &Bytes) {
        match Message::decode(bytes).expect("server sent a valid message") {
            Message::SyncStep1(sv) => {
                let sv = StateVector::decode_v1(&sv).expect("state vector");
                let diff = self.doc.transact().encode_diff_v1(&sv);
                self.send(Message::SyncStep2(diff.into())).await;
            }
            Message::SyncStep2(update) => {
                self.apply(&update);
                self.synced = true;
            }
            Message::Update(update) => {
                self.updates_received += 1;
                self.apply(&update);
            }
            Message::Awareness(payload) => {
                // y-protocols' rule: a higher clock wins; an equal clock only removes.
                for e in decode_awareness(&payload).expect("awareness") {
                    let accept = match self.awareness.get(&e.client_id) {
                        None => true,
                        Some((clock, state)) => {
                            *clock < e.clock
                                || (*clock == e.clock && e.is_removal() && state.is_some())
                        }
                    };
                    if accept {
                        let state = (!e.is_removal()).then(|| e.state.to_owned());
                        self.awareness.insert(e.client_id, (e.clock, state));
                    }
                }
            }
            Message::Auth(_) => self.denied += 1,
            Message::QueryAwareness => {}
        }
    }

    fn apply(&mut self, update: &[u8]) {
        let update = Update::decode_v1(update).expect("update");
        self.doc.transact_mut().apply_update(update).expect("apply");
    }

    /// Pump frames until `done` holds or `timeout` passes.
    pub async fn pump_until(&mut self, done: impl Fn(&Client) -> bool, timeout: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + timeout;
        while !done(self) {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            if left.is_zero() || (!self.pump_once(left).await && self.closed.is_some()) {
                return done(self);
            }
        }
        true
    }

    /// Read whatever arrives within `quiet`.
    pub async fn drain(&mut self, quiet: Duration) {
        while self.pump_once(quiet).await {}
    }

    /// Whether `client_id` currently has a present awareness state here.
    pub fn sees(&self, client_id: u64) -> bool {
        self.awareness
            .get(&client_id)
            .is_some_and(|(_, s)| s.is_some())
    }

    /// Drop the TCP connection without a close handshake.
    pub fn abort(self) {
        drop(self.ws);
    }
}

/// `/metrics` checked by Prometheus's own parser and linter (`promtool`).
pub fn promtool_accepts(body: &str) {
    use std::io::Write;
    let mut promtool = std::process::Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("promtool (Debian package prometheus; scripts/setup installs it)");
    promtool
        .stdin
        .take()
        .expect("stdin")
        .write_all(body.as_bytes())
        .expect("write metrics to promtool");
    let out = promtool.wait_with_output().expect("promtool ran");
    assert!(
        out.status.success(),
        "promtool: {}{}\n{body}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
