//! The embedded default: one SQLite file in WAL mode with `synchronous = FULL`, so a
//! committed turn survives a crash of the process or the machine.

use std::path::Path;
use std::sync::Mutex;

use rusqlite::{params, Connection, OptionalExtension};

use super::sql::{meta_from, turn_from, Columns, Sql};
use super::{parse_state, role_name, NewSession, SessionMeta, SessionRecord, SessionStore, StoreError, StoreResult, TurnPair};

const BACKEND: &str = "sqlite";

pub struct SqliteStore {
    conn: Mutex<Connection>,
    sql: Sql,
}

fn err(e: impl std::fmt::Display) -> StoreError {
    StoreError { backend: BACKEND, message: e.to_string() }
}

impl Columns for rusqlite::Row<'_> {
    fn text(&self, i: usize) -> StoreResult<String> {
        self.get(i).map_err(err)
    }
    fn opt_text(&self, i: usize) -> StoreResult<Option<String>> {
        self.get(i).map_err(err)
    }
    fn int(&self, i: usize) -> StoreResult<i64> {
        self.get(i).map_err(err)
    }
}

impl SqliteStore {
    /// Opens (creating) the database file and its folder.
    pub fn open(path: &Path) -> StoreResult<SqliteStore> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| err(format!("cannot create {}: {e}", dir.display())))?;
        }
        let conn = Connection::open(path).map_err(|e| err(format!("cannot open {}: {e}", path.display())))?;
        conn.pragma_update(None, "journal_mode", "WAL").map_err(err)?;
        conn.pragma_update(None, "synchronous", "FULL").map_err(err)?;
        conn.pragma_update(None, "foreign_keys", "ON").map_err(err)?;
        conn.busy_timeout(std::time::Duration::from_secs(10)).map_err(err)?;
        let sql = Sql::sqlite("chatplug");
        conn.execute_batch(&sql.schema).map_err(err)?;
        Ok(SqliteStore { conn: Mutex::new(conn), sql })
    }

    fn conn(&self) -> std::sync::MutexGuard<'_, Connection> {
        // A panic while holding the lock cannot leave a half transaction behind
        // (rusqlite rolls back on drop), so the connection is still good.
        self.conn.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn meta(&self, conn: &Connection, id: &str) -> StoreResult<Option<SessionMeta>> {
        let mut stmt = conn.prepare_cached(&self.sql.select_meta).map_err(err)?;
        let mut rows = stmt.query(params![id]).map_err(err)?;
        match rows.next().map_err(err)? {
            Some(row) => Ok(Some(meta_from(row)?)),
            None => Ok(None),
        }
    }
}

impl SessionStore for SqliteStore {
    fn create(&self, id: &str, new: &NewSession, now: &str) -> StoreResult<SessionMeta> {
        let conn = self.conn();
        conn.execute(
            &self.sql.insert_session,
            params![id, new.title, now, new.bot_profile, new.user_profile, new.role_instruction],
        )
        .map_err(err)?;
        self.meta(&conn, id)?.ok_or_else(|| err("the new session vanished"))
    }

    fn get(&self, id: &str) -> StoreResult<Option<SessionRecord>> {
        let conn = self.conn();
        let Some(meta) = self.meta(&conn, id)? else { return Ok(None) };
        let state: Option<String> = conn
            .query_row(&self.sql.select_state, params![id], |r| r.get(0))
            .optional()
            .map_err(err)?;
        let mut stmt = conn.prepare_cached(&self.sql.select_turns).map_err(err)?;
        let mut rows = stmt.query(params![id]).map_err(err)?;
        let mut turns = Vec::new();
        while let Some(row) = rows.next().map_err(err)? {
            turns.push(turn_from(row, BACKEND)?);
        }
        Ok(Some(SessionRecord { meta, turns, dialog_state: parse_state(&state.unwrap_or_default(), BACKEND)? }))
    }

    fn list(&self) -> StoreResult<Vec<SessionMeta>> {
        let conn = self.conn();
        let mut stmt = conn.prepare_cached(&self.sql.list_meta).map_err(err)?;
        let mut rows = stmt.query([]).map_err(err)?;
        let mut out = Vec::new();
        while let Some(row) = rows.next().map_err(err)? {
            out.push(meta_from(row)?);
        }
        Ok(out)
    }

    fn delete(&self, id: &str) -> StoreResult<bool> {
        Ok(self.conn().execute(&self.sql.delete_session, params![id]).map_err(err)? > 0)
    }

    fn append(&self, id: &str, pair: &TurnPair) -> StoreResult<bool> {
        let mut conn = self.conn();
        let tx = conn.transaction().map_err(err)?;
        let state = serde_json::Value::Object(pair.dialog_state.clone()).to_string();
        let updated = tx
            .execute(&self.sql.touch_session, params![id, pair.bot.created_at, state, pair.title_hint])
            .map_err(err)?;
        if updated == 0 {
            return Ok(false);
        }
        let seq: i64 = tx.query_row(&self.sql.next_seq, params![id], |r| r.get(0)).map_err(err)?;
        for (i, turn) in [&pair.user, &pair.bot].into_iter().enumerate() {
            tx.execute(
                &self.sql.insert_turn,
                params![id, seq + i as i64, role_name(turn.role), turn.utterance, turn.rewritten, turn.created_at],
            )
            .map_err(err)?;
        }
        tx.commit().map_err(err)?;
        Ok(true)
    }
}
