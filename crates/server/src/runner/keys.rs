//! What the server and the workers share in Redis: key names, the Lua scripts that make
//! each step of a job's life atomic, and strict parsing of stream replies.
//!
//! A job's life, in keys (`{id}` is the run id, checked by [`super::codec::valid_run_id`]):
//! - `peercode:q:jobs`, a stream with the consumer group `workers`: jobs waiting. A claim
//!   deletes the entry, so its length is the number waiting (the queue bound), and
//!   `peercode:q:jobs:bytes` counts their bytes (the other bound: a job may carry 5 MiB).
//! - `peercode:q:claim:{id}`: who took the run (a worker's name), or why nobody may
//!   (`ended`). Set once; the only way a run starts, so no run starts twice.
//! - `peercode:q:lease:{id}` (expires): renewed by the worker while it runs the job.
//! - `peercode:q:watch:{id}` (expires): renewed by the server instance driving the run.
//! - `peercode:q:cancel:{id}`: stop asked from the room.
//! - `peercode:q:done:{id}`: the first end written; a later one is dropped.
//! - `peercode:q:run:{id}`: the run's output stream (started, output, end), readable by any
//!   instance from its start; expires some time after the run.
//! - `peercode:q:running`: sorted set of runs being executed, scored by lease expiry (for
//!   `/metrics`).

use redis::{Script, Value};

pub const JOBS: &str = "peercode:q:jobs";
pub const GROUP: &str = "workers";
pub const RUNNING: &str = "peercode:q:running";
pub const JOB_BYTES: &str = "peercode:q:jobs:bytes";

pub fn claim(id: &str) -> String {
    format!("peercode:q:claim:{id}")
}
pub fn lease(id: &str) -> String {
    format!("peercode:q:lease:{id}")
}
pub fn watch(id: &str) -> String {
    format!("peercode:q:watch:{id}")
}
pub fn cancel(id: &str) -> String {
    format!("peercode:q:cancel:{id}")
}
pub fn done(id: &str) -> String {
    format!("peercode:q:done:{id}")
}
pub fn run(id: &str) -> String {
    format!("peercode:q:run:{id}")
}

/// Lua: take entry `id` out of the jobs stream `jobs` (acknowledged, deleted, its bytes
/// off the count `bytes`). Every path out of the queue goes through it.
const TAKE: &str = r"
local function take(jobs, bytes, id)
  redis.call('XACK', jobs, 'workers', id)
  local e = redis.call('XRANGE', jobs, id, id)
  if #e == 0 then return end
  local f = e[1][2]
  for i = 1, #f - 1, 2 do
    if f[i] == 'n' then
      local n = tonumber(f[i + 1])
      if n and redis.call('DECRBY', bytes, n) < 0 then redis.call('SET', bytes, 0) end
    end
  end
  redis.call('XDEL', jobs, id)
end
";

fn with_take(body: &str) -> Script {
    Script::new(&format!("{TAKE}{body}"))
}

/// Add a job unless `max` are already waiting or their bytes would pass `max_bytes` (one
/// job is always accepted into an empty queue). A full queue is first rid of the jobs whose
/// server instance died (their watch is gone: nobody would read their output), so jobs of
/// dead instances never hold the queue when no worker comes to drain it. KEYS: jobs,
/// watch, job bytes. ARGV: max, run id, job, watch ms, instance name, max bytes. Returns
/// the entry id, or nil when the queue is full.
pub fn submit() -> Script {
    with_take(
        r"
local size = string.len(ARGV[3])
local function full()
  local waiting = redis.call('XLEN', KEYS[1])
  if waiting == 0 then redis.call('SET', KEYS[3], 0) return false end
  local bytes = tonumber(redis.call('GET', KEYS[3]) or '0') or 0
  return waiting >= tonumber(ARGV[1]) or bytes + size > tonumber(ARGV[6])
end
if full() then
  for _, e in ipairs(redis.call('XRANGE', KEYS[1], '-', '+', 'COUNT', ARGV[1])) do
    local f, id = e[2], nil
    for i = 1, #f - 1, 2 do
      if f[i] == 'id' then id = f[i + 1] end
    end
    if id and string.match(id, '^[0-9a-z-]+$') and
       redis.call('EXISTS', 'peercode:q:watch:' .. id) == 0 then
      take(KEYS[1], KEYS[3], e[1])
    end
  end
  if full() then return false end
end
redis.call('INCRBY', KEYS[3], size)
redis.call('SET', KEYS[2], ARGV[5], 'PX', ARGV[4])
return redis.call('XADD', KEYS[1], '*', 'id', ARGV[2], 'n', size, 'job', ARGV[3])
",
    )
}

/// A worker takes a delivered job: the entry leaves the queue either way; the run starts
/// only if nobody claimed or ended it, nobody stopped it, and a server still drives it.
/// KEYS: jobs, claim, lease, watch, cancel, run, running, job bytes. ARGV: entry id,
/// worker, lease ms, ttl s, lease expiry (ms, for the running set), run id, started entry
/// payload, now (ms). Returns 1 when this worker must run it, 0 when not.
pub fn claim_job() -> Script {
    with_take(
        r"
take(KEYS[1], KEYS[8], ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[7], '-inf', ARGV[8])
if redis.call('EXISTS', KEYS[2]) == 1 then return 0 end
if redis.call('EXISTS', KEYS[5]) == 1 or redis.call('EXISTS', KEYS[4]) == 0 then
  redis.call('SET', KEYS[2], 'ended', 'EX', ARGV[4])
  return 0
end
redis.call('SET', KEYS[2], ARGV[2], 'EX', ARGV[4])
redis.call('SET', KEYS[3], ARGV[2], 'PX', ARGV[3])
redis.call('ZADD', KEYS[7], ARGV[5], ARGV[6])
redis.call('XADD', KEYS[6], '*', 'k', 'start', 'v', ARGV[7])
redis.call('EXPIRE', KEYS[6], ARGV[4])
return 1
",
    )
}

/// Take a malformed entry out of the queue. KEYS: jobs, job bytes. ARGV: entry id.
pub fn drop_job() -> Script {
    with_take("take(KEYS[1], KEYS[2], ARGV[1])\nreturn 1\n")
}

/// Write a run's end, if nobody has: marks it done, makes sure no worker starts it later,
/// takes its job out of the queue (when it still waits there) and appends the end entry.
/// KEYS: done, claim, run, jobs, job bytes. ARGV: end payload, ttl s, entry id (or 0-0).
/// Returns 1 when this end is the run's, 0 when another was first.
pub fn finish() -> Script {
    with_take(
        r"
if not redis.call('SET', KEYS[1], '1', 'NX', 'EX', ARGV[2]) then return 0 end
redis.call('SET', KEYS[2], 'ended', 'NX', 'EX', ARGV[2])
if ARGV[3] ~= '0-0' then take(KEYS[4], KEYS[5], ARGV[3]) end
redis.call('XADD', KEYS[3], '*', 'k', 'end', 'v', ARGV[1])
redis.call('EXPIRE', KEYS[3], ARGV[2])
return 1
",
    )
}

/// A worker renews its lease on a running job and learns what happened meanwhile.
/// KEYS: lease, done, cancel, watch, running. ARGV: worker, lease ms, expiry ms, run id.
/// Returns a bit set: 1 the run has an end already, 2 it was stopped, 4 no server drives
/// it any more.
pub fn renew() -> Script {
    Script::new(
        r"
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
redis.call('ZADD', KEYS[5], ARGV[3], ARGV[4])
local bits = 0
if redis.call('EXISTS', KEYS[2]) == 1 then bits = bits + 1 end
if redis.call('EXISTS', KEYS[3]) == 1 then bits = bits + 2 end
if redis.call('EXISTS', KEYS[4]) == 0 then bits = bits + 4 end
return bits
",
    )
}

/// One entry of a stream: its id and its field/value pairs (`None` when the reply did not
/// have the expected shape, or the entry was deleted).
#[derive(Debug)]
pub struct RawEntry {
    pub id: String,
    pub fields: Option<Vec<(Vec<u8>, Vec<u8>)>>,
}

impl RawEntry {
    pub fn field(&self, name: &str) -> Option<&[u8]> {
        self.fields
            .as_ref()?
            .iter()
            .find(|(k, _)| k == name.as_bytes())
            .map(|(_, v)| v.as_slice())
    }
}

fn bytes(v: &Value) -> Option<Vec<u8>> {
    match v {
        Value::BulkString(b) => Some(b.clone()),
        Value::SimpleString(s) => Some(s.clone().into_bytes()),
        _ => None,
    }
}

fn entry(v: &Value) -> Option<RawEntry> {
    let Value::Array(parts) = v else { return None };
    let id = String::from_utf8(bytes(parts.first()?)?).ok()?;
    let fields = match parts.get(1) {
        Some(Value::Array(kv)) if kv.len() % 2 == 0 => kv
            .chunks(2)
            .map(|p| Some((bytes(&p[0])?, bytes(&p[1])?)))
            .collect::<Option<Vec<_>>>(),
        Some(Value::Map(kv)) => kv
            .iter()
            .map(|(k, v)| Some((bytes(k)?, bytes(v)?)))
            .collect::<Option<Vec<_>>>(),
        _ => None,
    };
    Some(RawEntry { id, fields })
}

/// The entries of a list of stream entries (`[[id, [k, v, …]], …]`).
pub fn entries(v: &Value) -> Result<Vec<RawEntry>, String> {
    match v {
        Value::Nil => Ok(Vec::new()),
        Value::Array(items) => items
            .iter()
            .map(|e| entry(e).ok_or_else(|| "a stream entry of an unexpected shape".to_owned()))
            .collect(),
        other => Err(format!("a stream reply of an unexpected shape: {other:?}")),
    }
}

/// The entries of an `XREAD`/`XREADGROUP` reply for one stream (nil on timeout).
pub fn read_reply(v: &Value) -> Result<Vec<RawEntry>, String> {
    let streams: Vec<&Value> = match v {
        Value::Nil => return Ok(Vec::new()),
        Value::Array(items) => items
            .iter()
            .map(|s| match s {
                Value::Array(pair) if pair.len() == 2 => Ok(&pair[1]),
                _ => Err("a stream reply of an unexpected shape".to_owned()),
            })
            .collect::<Result<_, _>>()?,
        Value::Map(items) => items.iter().map(|(_, v)| v).collect(),
        other => return Err(format!("a read reply of an unexpected shape: {other:?}")),
    };
    let mut out = Vec::new();
    for s in streams {
        out.extend(entries(s)?);
    }
    Ok(out)
}

/// The claimed entries of an `XAUTOCLAIM` reply (`[next, [entries], [deleted]]`).
pub fn autoclaim_reply(v: &Value) -> Result<Vec<RawEntry>, String> {
    match v {
        Value::Array(parts) if parts.len() >= 2 => entries(&parts[1]),
        other => Err(format!(
            "an XAUTOCLAIM reply of an unexpected shape: {other:?}"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bulk(s: &str) -> Value {
        Value::BulkString(s.as_bytes().to_vec())
    }

    #[test]
    fn replies_are_parsed_strictly() {
        let e = Value::Array(vec![
            bulk("1-0"),
            Value::Array(vec![bulk("k"), bulk("out"), bulk("v"), bulk("x")]),
        ]);
        let reply = Value::Array(vec![Value::Array(vec![bulk("s"), Value::Array(vec![e])])]);
        let got = read_reply(&reply).expect("parsed");
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].field("k"), Some(&b"out"[..]));
        assert!(read_reply(&Value::Nil).expect("timeout").is_empty());
        // Deleted entries (nil fields) and odd field lists are kept as malformed entries.
        let odd = Value::Array(vec![bulk("2-0"), Value::Array(vec![bulk("k")])]);
        let deleted = Value::Array(vec![bulk("3-0"), Value::Nil]);
        let got = entries(&Value::Array(vec![odd, deleted])).expect("parsed");
        assert!(got.iter().all(|e| e.fields.is_none()));
        assert!(read_reply(&Value::Int(3)).is_err());
        assert!(read_reply(&Value::Array(vec![Value::Int(1)])).is_err());
        assert!(autoclaim_reply(&Value::Array(vec![bulk("0-0")])).is_err());
    }
}
