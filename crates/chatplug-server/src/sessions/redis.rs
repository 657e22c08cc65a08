//! Redis: sessions shared by several server instances, for deployments that already
//! run Redis. Keys (`prefix` from the config): `{prefix}:session:{id}` (hash of the
//! session's fields), `{prefix}:turns:{id}` (list of JSON turns) and `{prefix}:sessions`
//! (sorted set of ids by update time). A turn is appended with WATCH/MULTI/EXEC and
//! acknowledged after EXEC; surviving a Redis restart needs Redis persistence
//! (`appendonly yes`, `appendfsync always` for every acknowledged turn).

use std::collections::HashMap;
use std::time::{Duration, Instant, UNIX_EPOCH};

use redis::{Client, Commands, Connection};
use serde_json::json;

use super::{parse_role, parse_state, role_name, NewSession, SessionMeta, SessionRecord, SessionStore, StoreError, StoreResult, StoredTurn, TurnPair};

const BACKEND: &str = "redis";

pub struct RedisStore {
    client: Client,
    prefix: String,
}

fn err(e: impl std::fmt::Display) -> StoreError {
    StoreError { backend: BACKEND, message: e.to_string() }
}

/// The sorted-set score of an RFC 3339 time: microseconds since the epoch.
fn score(time: &str) -> StoreResult<f64> {
    let t = humantime::parse_rfc3339(time).map_err(|e| err(format!("bad time `{time}`: {e}")))?;
    Ok(t.duration_since(UNIX_EPOCH).map(|d| d.as_micros() as f64).unwrap_or(0.0))
}

impl RedisStore {
    pub fn connect(url: &str, prefix: &str) -> StoreResult<RedisStore> {
        let client = Client::open(url).map_err(|e| err(format!("bad url: {e}")))?;
        let store = RedisStore { client, prefix: prefix.to_string() };
        store.conn()?;
        Ok(store)
    }

    /// A connection per call: loopback connects are cheap and a restarted Redis needs
    /// no reconnect logic. A Redis that is still loading its data after a restart
    /// answers LOADING; the call waits for it (up to 30 s).
    fn conn(&self) -> StoreResult<Connection> {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let mut conn = self.client.get_connection().map_err(|e| err(format!("cannot connect: {e}")))?;
            match redis::cmd("PING").query::<String>(&mut conn) {
                Ok(_) => return Ok(conn),
                Err(e) if e.kind() == redis::ErrorKind::BusyLoadingError && Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(50));
                }
                Err(e) => return Err(err(format!("cannot connect: {e}"))),
            }
        }
    }

    fn session_key(&self, id: &str) -> String {
        format!("{}:session:{id}", self.prefix)
    }
    fn turns_key(&self, id: &str) -> String {
        format!("{}:turns:{id}", self.prefix)
    }
    fn index_key(&self) -> String {
        format!("{}:sessions", self.prefix)
    }

    fn meta(&self, conn: &mut Connection, id: &str) -> StoreResult<Option<(SessionMeta, HashMap<String, String>)>> {
        let (mut fields, turn_count): (HashMap<String, String>, usize) = redis::pipe()
            .hgetall(self.session_key(id))
            .llen(self.turns_key(id))
            .query(conn)
            .map_err(err)?;
        if fields.is_empty() {
            return Ok(None);
        }
        let mut take = |name: &str| fields.remove(name);
        let meta = SessionMeta {
            id: id.to_string(),
            title: take("title").unwrap_or_default(),
            created_at: take("created_at").unwrap_or_default(),
            updated_at: take("updated_at").unwrap_or_default(),
            bot_profile: take("bot_profile").unwrap_or_default(),
            user_profile: take("user_profile").unwrap_or_default(),
            role_instruction: take("role_instruction"),
            turn_count,
        };
        Ok(Some((meta, fields)))
    }
}

fn turn_json(turn: &StoredTurn) -> String {
    json!({"role": role_name(turn.role), "utterance": turn.utterance, "rewritten": turn.rewritten,
           "created_at": turn.created_at})
    .to_string()
}

fn turn_from_json(text: &str) -> StoreResult<StoredTurn> {
    let v: serde_json::Value = serde_json::from_str(text).map_err(|e| err(format!("bad stored turn: {e}")))?;
    let s = |k: &str| v[k].as_str().map(str::to_string);
    Ok(StoredTurn {
        role: parse_role(v["role"].as_str().unwrap_or(""), BACKEND)?,
        utterance: s("utterance").unwrap_or_default(),
        rewritten: s("rewritten"),
        created_at: s("created_at").unwrap_or_default(),
    })
}

impl SessionStore for RedisStore {
    fn create(&self, id: &str, new: &NewSession, now: &str) -> StoreResult<SessionMeta> {
        let mut conn = self.conn()?;
        let mut fields = vec![
            ("title", new.title.as_str()),
            ("created_at", now),
            ("updated_at", now),
            ("bot_profile", new.bot_profile.as_str()),
            ("user_profile", new.user_profile.as_str()),
            ("dialog_state", "{}"),
        ];
        if let Some(r) = &new.role_instruction {
            fields.push(("role_instruction", r.as_str()));
        }
        let _: () = redis::pipe()
            .atomic()
            .hset_multiple(self.session_key(id), &fields)
            .ignore()
            .zadd(self.index_key(), id, score(now)?)
            .ignore()
            .query(&mut conn)
            .map_err(err)?;
        self.meta(&mut conn, id)?.map(|(m, _)| m).ok_or_else(|| err("the new session vanished"))
    }

    fn get(&self, id: &str) -> StoreResult<Option<SessionRecord>> {
        let mut conn = self.conn()?;
        let Some((meta, fields)) = self.meta(&mut conn, id)? else { return Ok(None) };
        let raw: Vec<String> = conn.lrange(self.turns_key(id), 0, -1).map_err(err)?;
        let turns = raw.iter().map(|t| turn_from_json(t)).collect::<StoreResult<Vec<_>>>()?;
        let state = fields.get("dialog_state").map(String::as_str).unwrap_or("{}");
        Ok(Some(SessionRecord { meta, turns, dialog_state: parse_state(state, BACKEND)? }))
    }

    fn list(&self) -> StoreResult<Vec<SessionMeta>> {
        let mut conn = self.conn()?;
        let ids: Vec<String> = conn.zrevrange(self.index_key(), 0, -1).map_err(err)?;
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            // A session deleted between the two reads is left out.
            if let Some((meta, _)) = self.meta(&mut conn, &id)? {
                out.push(meta);
            }
        }
        Ok(out)
    }

    fn delete(&self, id: &str) -> StoreResult<bool> {
        let mut conn = self.conn()?;
        let (deleted,): (usize,) = redis::pipe()
            .atomic()
            .del(self.session_key(id))
            .del(self.turns_key(id))
            .ignore()
            .zrem(self.index_key(), id)
            .ignore()
            .query(&mut conn)
            .map_err(err)?;
        Ok(deleted > 0)
    }

    fn append(&self, id: &str, pair: &TurnPair) -> StoreResult<bool> {
        let mut conn = self.conn()?;
        let key = self.session_key(id);
        loop {
            // WATCH makes EXEC fail if the session changed (another append, a delete)
            // after it was read; then read and try again.
            let _: () = redis::cmd("WATCH").arg(&key).query(&mut conn).map_err(err)?;
            let title: Option<String> = conn.hget(&key, "title").map_err(err)?;
            let Some(title) = title else {
                let _: () = redis::cmd("UNWATCH").query(&mut conn).map_err(err)?;
                return Ok(false);
            };
            let title = if title.is_empty() { pair.title_hint.clone() } else { title };
            let state = serde_json::Value::Object(pair.dialog_state.clone()).to_string();
            let fields = [("title", title.as_str()), ("updated_at", pair.bot.created_at.as_str()), ("dialog_state", &state)];
            let result: Option<()> = redis::pipe()
                .atomic()
                .rpush(self.turns_key(id), &[turn_json(&pair.user), turn_json(&pair.bot)])
                .ignore()
                .hset_multiple(&key, &fields)
                .ignore()
                .zadd(self.index_key(), id, score(&pair.bot.created_at)?)
                .ignore()
                .query(&mut conn)
                .map_err(err)?;
            if result.is_some() {
                return Ok(true);
            }
        }
    }
}
