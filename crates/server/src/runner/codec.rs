//! The bytes of the run queue: a job (what a worker runs) and the entries of a run's
//! output stream (started, output, the end). Small and strict like `peercode-protocol`,
//! whose lib0 reader and writer it uses: every length is checked against the input before
//! anything is allocated, every count and string has a bound, trailing bytes are an error,
//! and nothing here panics on any input — a bad entry fails its run, never a process.

use peercode_protocol::{DecodeError, Reader, Writer};
use peercode_sandbox::{Limits, OutputChunk, RunOutcome, Stream, Verdict};

/// Version byte leading every job and every output entry.
const VERSION: u8 = 1;
/// Largest encoded job: the sandbox takes at most 4 MiB of source and files, stdin is at
/// most 1 MiB; the rest is paths and numbers. A larger entry is refused unread.
pub const MAX_JOB_BYTES: usize = 6 << 20;
/// Largest output entry (a worker sends output in pieces well below this).
pub const MAX_ENTRY_BYTES: usize = 2 << 20;
/// Most files one job carries besides its source.
const MAX_FILES: u64 = 1024;
const MAX_PATH_BYTES: usize = 1024;
const MAX_NAME_BYTES: usize = 128;
const MAX_MESSAGE_BYTES: usize = 4096;

/// What a worker runs: everything is in here, so a worker trusts nothing else.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Job {
    pub run: String,
    /// For logs only.
    pub room: String,
    pub language: String,
    pub source: Vec<u8>,
    pub files: Vec<(String, Vec<u8>)>,
    pub stdin: Vec<u8>,
    pub limits: Limits,
}

/// One entry of a run's output stream.
#[derive(Debug, Clone, PartialEq)]
pub enum Entry {
    /// A worker claimed the run and starts it (its name).
    Started(String),
    Output(OutputChunk),
    /// The run ended; the first end written is the only one.
    End(End),
}

/// How a run ended, as written into its stream.
#[derive(Debug, Clone, PartialEq)]
pub enum End {
    /// The sandbox judged it (stdout/stderr of the outcome are not carried: the output
    /// entries hold them).
    Judged(RunOutcome),
    /// Stopped from the room.
    Cancelled,
    /// No verdict could be given: why (a worker died, nobody took it, a malformed entry).
    Failed(String),
}

/// What is wrong with an entry.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CodecError {
    #[error("{0}")]
    Decode(#[from] DecodeError),
    #[error("unsupported version {0}")]
    Version(u8),
    #[error("{what} is {size} bytes; at most {max} are allowed")]
    TooLarge {
        what: &'static str,
        size: usize,
        max: usize,
    },
    #[error("{0} trailing bytes")]
    Trailing(usize),
    #[error("unknown {what} {value}")]
    Unknown { what: &'static str, value: u64 },
    #[error("a run id must be 1 to 64 of [0-9a-z-]")]
    BadRunId,
}

/// Whether `id` looks like a run id (`<ms>-<n>` in hex): it is used in key names.
pub fn valid_run_id(id: &str) -> bool {
    (1..=64).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_digit() || b.is_ascii_lowercase() || b == b'-')
}

fn bounded<'a>(r: &mut Reader<'a>, what: &'static str, max: usize) -> Result<&'a [u8], CodecError> {
    let bytes = r.read_var_bytes()?;
    if bytes.len() > max {
        return Err(CodecError::TooLarge {
            what,
            size: bytes.len(),
            max,
        });
    }
    Ok(bytes)
}

fn bounded_str<'a>(
    r: &mut Reader<'a>,
    what: &'static str,
    max: usize,
) -> Result<&'a str, CodecError> {
    std::str::from_utf8(bounded(r, what, max)?).map_err(|_| DecodeError::InvalidUtf8.into())
}

fn start<'a>(bytes: &'a [u8], what: &'static str, max: usize) -> Result<Reader<'a>, CodecError> {
    if bytes.len() > max {
        return Err(CodecError::TooLarge {
            what,
            size: bytes.len(),
            max,
        });
    }
    let mut r = Reader::new(bytes);
    match r.read_u8()? {
        VERSION => Ok(r),
        v => Err(CodecError::Version(v)),
    }
}

fn end_of(r: &Reader<'_>) -> Result<(), CodecError> {
    match r.remaining() {
        0 => Ok(()),
        n => Err(CodecError::Trailing(n)),
    }
}

impl Job {
    pub fn encode(&self) -> Vec<u8> {
        let size = self.source.len()
            + self.stdin.len()
            + self
                .files
                .iter()
                .map(|(p, d)| p.len() + d.len() + 8)
                .sum::<usize>();
        let mut w = Writer::with_capacity(size + 128);
        w.write_u8(VERSION);
        w.write_var_str(&self.run);
        w.write_var_str(&self.room);
        w.write_var_str(&self.language);
        w.write_var_bytes(&self.source);
        w.write_var_uint(self.files.len() as u64);
        for (path, data) in &self.files {
            w.write_var_str(path);
            w.write_var_bytes(data);
        }
        w.write_var_bytes(&self.stdin);
        let l = &self.limits;
        for n in [
            l.memory_mb,
            l.cpu_time_ms,
            l.wall_time_ms,
            l.cpu_quota_percent,
            l.processes,
            l.output_bytes,
            l.file_bytes,
        ] {
            w.write_var_uint(n);
        }
        w.into_vec()
    }

    pub fn decode(bytes: &[u8]) -> Result<Job, CodecError> {
        let mut r = start(bytes, "a job", MAX_JOB_BYTES)?;
        let run = bounded_str(&mut r, "a run id", 64)?;
        if !valid_run_id(run) {
            return Err(CodecError::BadRunId);
        }
        let room = bounded_str(&mut r, "a room name", MAX_NAME_BYTES)?.to_owned();
        let language = bounded_str(&mut r, "a language name", MAX_NAME_BYTES)?.to_owned();
        let source = r.read_var_bytes()?.to_vec();
        let count = r.read_var_uint()?;
        if count > MAX_FILES {
            return Err(CodecError::TooLarge {
                what: "the file count",
                size: usize::try_from(count).unwrap_or(usize::MAX),
                max: MAX_FILES as usize,
            });
        }
        // Each file takes at least two bytes: the count cannot make us allocate more than
        // the entry's size.
        let mut files = Vec::with_capacity((count as usize).min(r.remaining() / 2));
        for _ in 0..count {
            let path = bounded_str(&mut r, "a file path", MAX_PATH_BYTES)?.to_owned();
            files.push((path, r.read_var_bytes()?.to_vec()));
        }
        let stdin = r.read_var_bytes()?.to_vec();
        let mut n = || r.read_var_uint();
        let limits = Limits {
            memory_mb: n()?,
            cpu_time_ms: n()?,
            wall_time_ms: n()?,
            cpu_quota_percent: n()?,
            processes: n()?,
            output_bytes: n()?,
            file_bytes: n()?,
        };
        end_of(&r)?;
        Ok(Job {
            run: run.to_owned(),
            room,
            language,
            source,
            files,
            stdin,
            limits,
        })
    }
}

/// The `k` field of an output entry.
pub const KIND_STARTED: &str = "start";
pub const KIND_OUTPUT: &str = "out";
pub const KIND_END: &str = "end";

const VERDICTS: [Verdict; 7] = [
    Verdict::Ok,
    Verdict::CompileError,
    Verdict::RuntimeError,
    Verdict::TimeLimit,
    Verdict::MemoryLimit,
    Verdict::OutputLimit,
    Verdict::InternalError,
];

fn write_opt_i32(w: &mut Writer, n: Option<i32>) {
    // Exit codes and signal numbers are small and never negative; a negative one is kept
    // as its bit pattern.
    w.write_var_uint(n.map_or(0, |n| u64::from(n as u32) + 1));
}

fn read_opt_i32(r: &mut Reader<'_>) -> Result<Option<i32>, CodecError> {
    match r.read_var_uint()? {
        0 => Ok(None),
        n => u32::try_from(n - 1)
            .map(|n| Some(n as i32))
            .map_err(|_| CodecError::Unknown {
                what: "exit status",
                value: n,
            }),
    }
}

impl Entry {
    /// `(kind, payload)`: the two fields of a stream entry.
    pub fn encode(&self) -> (&'static str, Vec<u8>) {
        let mut w = Writer::with_capacity(64);
        w.write_u8(VERSION);
        let kind = match self {
            Entry::Started(worker) => {
                w.write_var_str(worker);
                KIND_STARTED
            }
            Entry::Output(chunk) => {
                w.write_u8(match chunk.stream {
                    Stream::Compile => 0,
                    Stream::Stdout => 1,
                    Stream::Stderr => 2,
                });
                w.write_var_uint(u64::try_from(chunk.at.as_millis()).unwrap_or(u64::MAX));
                w.write_var_bytes(&chunk.data);
                KIND_OUTPUT
            }
            Entry::End(End::Judged(o)) => {
                w.write_u8(0);
                let verdict = VERDICTS.iter().position(|v| *v == o.verdict).unwrap_or(6);
                w.write_u8(verdict as u8);
                write_opt_i32(&mut w, o.exit_code);
                write_opt_i32(&mut w, o.signal);
                w.write_var_uint(o.cpu_ms);
                w.write_var_uint(o.wall_ms);
                w.write_var_uint(o.memory_kb);
                w.write_u8(u8::from(o.truncated));
                let message = o.message.as_deref().unwrap_or_default();
                w.write_var_str(truncate(message, MAX_MESSAGE_BYTES));
                KIND_END
            }
            Entry::End(End::Cancelled) => {
                w.write_u8(1);
                KIND_END
            }
            Entry::End(End::Failed(why)) => {
                w.write_u8(2);
                w.write_var_str(truncate(why, MAX_MESSAGE_BYTES));
                KIND_END
            }
        };
        (kind, w.into_vec())
    }

    pub fn decode(kind: &[u8], payload: &[u8]) -> Result<Entry, CodecError> {
        let mut r = start(payload, "an output entry", MAX_ENTRY_BYTES)?;
        let entry = match kind {
            b"start" => {
                Entry::Started(bounded_str(&mut r, "a worker name", MAX_NAME_BYTES)?.into())
            }
            b"out" => {
                let stream = match r.read_u8()? {
                    0 => Stream::Compile,
                    1 => Stream::Stdout,
                    2 => Stream::Stderr,
                    n => {
                        return Err(CodecError::Unknown {
                            what: "output stream",
                            value: n.into(),
                        });
                    }
                };
                let at = std::time::Duration::from_millis(r.read_var_uint()?);
                let data = r.read_var_bytes()?.to_vec();
                Entry::Output(OutputChunk { stream, at, data })
            }
            b"end" => match r.read_u8()? {
                0 => {
                    let v = r.read_u8()?;
                    let verdict = *VERDICTS.get(usize::from(v)).ok_or(CodecError::Unknown {
                        what: "verdict",
                        value: v.into(),
                    })?;
                    let exit_code = read_opt_i32(&mut r)?;
                    let signal = read_opt_i32(&mut r)?;
                    let cpu_ms = r.read_var_uint()?;
                    let wall_ms = r.read_var_uint()?;
                    let memory_kb = r.read_var_uint()?;
                    let truncated = match r.read_u8()? {
                        0 => false,
                        1 => true,
                        n => {
                            return Err(CodecError::Unknown {
                                what: "flag",
                                value: n.into(),
                            });
                        }
                    };
                    let message = bounded_str(&mut r, "a message", MAX_MESSAGE_BYTES)?;
                    Entry::End(End::Judged(RunOutcome {
                        verdict,
                        exit_code,
                        signal,
                        stdout: String::new(),
                        stderr: String::new(),
                        cpu_ms,
                        wall_ms,
                        memory_kb,
                        compile_output: None,
                        truncated,
                        message: (!message.is_empty()).then(|| message.to_owned()),
                    }))
                }
                1 => Entry::End(End::Cancelled),
                2 => Entry::End(End::Failed(
                    bounded_str(&mut r, "a message", MAX_MESSAGE_BYTES)?.into(),
                )),
                n => {
                    return Err(CodecError::Unknown {
                        what: "end kind",
                        value: n.into(),
                    });
                }
            },
            _ => {
                return Err(CodecError::Unknown {
                    what: "entry kind",
                    value: kind.len() as u64,
                });
            }
        };
        end_of(&r)?;
        Ok(entry)
    }
}

/// At most `max` bytes of `s`, cut at a character boundary.
fn truncate(s: &str, max: usize) -> &str {
    let mut end = s.len().min(max);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn job() -> Job {
        Job {
            run: "18c2f0a-1".into(),
            room: "demo".into(),
            language: "python".into(),
            source: b"print('hi')\n".to_vec(),
            files: vec![("lib/util.py".into(), b"X = 1\n".to_vec())],
            stdin: b"5\n".to_vec(),
            limits: Limits::default(),
        }
    }

    fn entries() -> Vec<Entry> {
        vec![
            Entry::Started("worker-1".into()),
            Entry::Output(OutputChunk {
                stream: Stream::Stderr,
                at: Duration::from_millis(12),
                data: vec![0xff, b'a'],
            }),
            Entry::End(End::Judged(RunOutcome {
                verdict: Verdict::RuntimeError,
                exit_code: Some(3),
                signal: None,
                stdout: String::new(),
                stderr: String::new(),
                cpu_ms: 20,
                wall_ms: 31,
                memory_kb: 9000,
                compile_output: None,
                truncated: true,
                message: Some("x".into()),
            })),
            Entry::End(End::Cancelled),
            Entry::End(End::Failed("the worker stopped".into())),
        ]
    }

    #[test]
    fn jobs_and_entries_round_trip() {
        let j = job();
        assert_eq!(Job::decode(&j.encode()), Ok(j));
        for e in entries() {
            let (kind, payload) = e.encode();
            assert_eq!(Entry::decode(kind.as_bytes(), &payload), Ok(e));
        }
    }

    #[test]
    fn every_truncation_and_every_corrupted_byte_is_an_error_or_a_value_never_a_panic() {
        let mut inputs: Vec<(&'static str, Vec<u8>)> = vec![("job", job().encode())];
        inputs.extend(entries().iter().map(Entry::encode));
        for (kind, bytes) in inputs {
            let decode = |b: &[u8]| match kind {
                "job" => Job::decode(b).map(|_| ()),
                k => Entry::decode(k.as_bytes(), b).map(|_| ()),
            };
            for cut in 0..bytes.len() {
                assert!(decode(&bytes[..cut]).is_err(), "{kind} cut at {cut}");
            }
            let mut longer = bytes.clone();
            longer.push(0);
            assert_eq!(decode(&longer), Err(CodecError::Trailing(1)), "{kind}");
            for i in 0..bytes.len() {
                for flip in [0x01, 0x80, 0xff] {
                    let mut b = bytes.clone();
                    b[i] ^= flip;
                    let _ = decode(&b);
                }
            }
        }
    }

    #[test]
    fn hostile_counts_sizes_and_names_are_refused() {
        // A file count far beyond what the entry could hold.
        let mut w = Writer::with_capacity(64);
        w.write_u8(VERSION);
        for s in ["1-1", "room", "python"] {
            w.write_var_str(s);
        }
        w.write_var_bytes(b"");
        w.write_var_uint(u64::MAX);
        assert!(matches!(
            Job::decode(&w.into_vec()),
            Err(CodecError::TooLarge { .. })
        ));
        // A run id that would escape its key name.
        let mut bad = job();
        bad.run = "x}:*".into();
        assert_eq!(Job::decode(&bad.encode()), Err(CodecError::BadRunId));
        // An entry larger than any job may be.
        let huge = vec![VERSION; MAX_JOB_BYTES + 1];
        assert!(matches!(
            Job::decode(&huge),
            Err(CodecError::TooLarge { .. })
        ));
        assert_eq!(Job::decode(&[9]), Err(CodecError::Version(9)));
        assert!(Entry::decode(b"bogus", &[VERSION]).is_err());
        assert!(Entry::decode(b"end", &[VERSION, 7]).is_err());
        assert!(Entry::decode(b"end", &[VERSION, 0, 42]).is_err());
    }
}
