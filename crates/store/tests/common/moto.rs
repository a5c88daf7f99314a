//! A real S3 for tests: moto's server (`scripts/setup` installs it into
//! `~/.cache/peercode-venv`), started on a free port and killed on drop. A test fails
//! (never skips) when it cannot be started.
//!
//! Shared with the workspace's own tests (`tests/common/mod.rs` includes this file).

#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// How long moto may take to start answering.
const START_TIMEOUT: Duration = Duration::from_secs(60);

/// The credentials and region every test client uses (moto accepts any).
pub const S3_OPTIONS: &[(&str, &str)] = &[
    ("aws_access_key_id", "peercode-test"),
    ("aws_secret_access_key", "peercode-test-secret"),
    ("aws_region", "us-east-1"),
];

/// The same, as environment variables for a `peercode` child process.
pub const S3_ENV: &[(&str, &str)] = &[
    ("AWS_ACCESS_KEY_ID", "peercode-test"),
    ("AWS_SECRET_ACCESS_KEY", "peercode-test-secret"),
    ("AWS_REGION", "us-east-1"),
];

/// moto's server, running until dropped.
pub struct Moto {
    child: Child,
    /// `http://127.0.0.1:PORT`
    pub endpoint: String,
    port: u16,
}

/// Where `moto_server` is: `PEERCODE_TEST_MOTO_SERVER`, else the venv `scripts/setup` makes.
pub fn moto_server_path() -> PathBuf {
    if let Some(path) = std::env::var_os("PEERCODE_TEST_MOTO_SERVER") {
        return path.into();
    }
    let home = std::env::var_os("HOME").unwrap_or_else(|| "/root".into());
    PathBuf::from(home).join(".cache/peercode-venv/bin/moto_server")
}

impl Moto {
    pub fn start() -> Moto {
        let path = moto_server_path();
        let mut child = Command::new(&path)
            .args(["-H", "127.0.0.1", "-p", "0"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "could not start {} ({e}): run scripts/setup, which installs moto[server], \
                     or point PEERCODE_TEST_MOTO_SERVER at a moto_server",
                    path.display()
                )
            });
        // Werkzeug says where it listens ("Running on http://127.0.0.1:PORT"); both pipes
        // are drained for the server's whole life so its logging never blocks it.
        let (lines, found) = mpsc::channel::<String>();
        for pipe in [
            child
                .stdout
                .take()
                .map(|p| Box::new(p) as Box<dyn Read + Send>),
            child
                .stderr
                .take()
                .map(|p| Box::new(p) as Box<dyn Read + Send>),
        ]
        .into_iter()
        .flatten()
        {
            let lines = lines.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(pipe).lines().map_while(Result::ok) {
                    let _ = lines.send(line);
                }
            });
        }
        let deadline = Instant::now() + START_TIMEOUT;
        let port = loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match found.recv_timeout(left) {
                Ok(line) => {
                    if let Some(port) = line
                        .split("http://127.0.0.1:")
                        .nth(1)
                        .and_then(|rest| rest.split(|c: char| !c.is_ascii_digit()).next())
                        .and_then(|p| p.parse::<u16>().ok())
                    {
                        break port;
                    }
                }
                Err(_) => {
                    let _ = child.kill();
                    panic!("moto_server did not say where it listens within {START_TIMEOUT:?}");
                }
            }
        };
        let moto = Moto {
            child,
            endpoint: format!("http://127.0.0.1:{port}"),
            port,
        };
        // Then wait until it answers a request.
        while moto.request("GET", "/").map(|(status, _)| status) != Some(200) {
            assert!(
                Instant::now() < deadline,
                "moto_server on port {port} does not answer"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        moto
    }

    /// One plain HTTP request (moto does not check signatures): (status, body).
    pub fn request(&self, method: &str, path: &str) -> Option<(u16, String)> {
        let mut stream = TcpStream::connect(("127.0.0.1", self.port)).ok()?;
        stream
            .set_read_timeout(Some(Duration::from_secs(30)))
            .ok()?;
        write!(
            stream,
            "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
            self.port
        )
        .ok()?;
        let mut answer = String::new();
        stream.read_to_string(&mut answer).ok()?;
        let status = answer.split(' ').nth(1)?.parse().ok()?;
        let body = answer.split_once("\r\n\r\n").map_or("", |(_, b)| b);
        Some((status, body.to_owned()))
    }

    /// A new, empty bucket with a name of its own; its `s3://` URL.
    pub fn bucket(&self) -> String {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let name = format!(
            "peercode-test-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        let (status, body) = self
            .request("PUT", &format!("/{name}"))
            .expect("moto answers CreateBucket");
        assert_eq!(status, 200, "creating bucket {name}: {body}");
        self.url(&name)
    }

    /// The `--blob-url` of bucket `name` (which may not exist).
    pub fn url(&self, name: &str) -> String {
        format!("s3://{name}?endpoint={}", self.endpoint)
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
