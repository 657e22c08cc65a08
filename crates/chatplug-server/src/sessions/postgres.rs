//! PostgreSQL: sessions shared by several server instances. A turn is acknowledged
//! after its transaction commits. A connection the server lost (database restart) is
//! opened again (see `with_client`).

use std::sync::{Mutex, MutexGuard};

use postgres::{Client, GenericClient, NoTls};

use super::sql::{meta_from, turn_from, Columns, Sql};
use super::{parse_state, role_name, NewSession, SessionMeta, SessionRecord, SessionStore, StoreError, StoreResult, TurnPair};

const BACKEND: &str = "postgres";

pub struct PostgresStore {
    url: String,
    client: Mutex<Client>,
    sql: Sql,
}

fn err(e: impl std::fmt::Display) -> StoreError {
    StoreError { backend: BACKEND, message: e.to_string() }
}

/// The server's message for database errors (the driver's own text is only "db error").
fn db(e: postgres::Error) -> StoreError {
    match e.as_db_error() {
        Some(d) => err(format!("{} ({})", d.message(), d.code().code())),
        None => err(e),
    }
}

impl Columns for postgres::Row {
    fn text(&self, i: usize) -> StoreResult<String> {
        self.try_get(i).map_err(db)
    }
    fn opt_text(&self, i: usize) -> StoreResult<Option<String>> {
        self.try_get(i).map_err(db)
    }
    fn int(&self, i: usize) -> StoreResult<i64> {
        self.try_get(i).map_err(db)
    }
}

impl PostgresStore {
    /// Connects and creates the tables (`{prefix}_sessions`, `{prefix}_turns`).
    pub fn connect(url: &str, prefix: &str) -> StoreResult<PostgresStore> {
        let sql = Sql::postgres(prefix);
        let mut client = Client::connect(url, NoTls).map_err(|e| err(format!("cannot connect: {}", db(e).message)))?;
        client.batch_execute(&sql.schema).map_err(db)?;
        Ok(PostgresStore { url: url.to_string(), client: Mutex::new(client), sql })
    }

    /// Runs `op` on the connection. A connection the server dropped (restart,
    /// failover) is only noticed when a call fails on it: then the store connects again
    /// and runs `op` once more. The failed attempt died at its first message on the dead
    /// connection, so nothing was written twice.
    fn with_client<T>(&self, op: impl Fn(&mut Client) -> StoreResult<T>) -> StoreResult<T> {
        let mut guard: MutexGuard<'_, Client> = self.client.lock().unwrap_or_else(|p| p.into_inner());
        if !guard.is_closed() {
            match op(&mut guard) {
                Err(_) if guard.is_closed() => {}
                other => return other,
            }
        }
        *guard = Client::connect(&self.url, NoTls).map_err(|e| err(format!("cannot reconnect: {}", db(e).message)))?;
        op(&mut guard)
    }

    fn meta(client: &mut impl GenericClient, sql: &str, id: &str) -> StoreResult<Option<SessionMeta>> {
        client.query_opt(sql, &[&id]).map_err(db)?.map(|row| meta_from(&row)).transpose()
    }
}

impl SessionStore for PostgresStore {
    fn create(&self, id: &str, new: &NewSession, now: &str) -> StoreResult<SessionMeta> {
        self.with_client(|client| {
            client
                .execute(
                    &self.sql.insert_session,
                    &[&id, &new.title, &now, &new.bot_profile, &new.user_profile, &new.role_instruction],
                )
                .map_err(db)?;
            Self::meta(client, &self.sql.select_meta, id)?.ok_or_else(|| err("the new session vanished"))
        })
    }

    fn get(&self, id: &str) -> StoreResult<Option<SessionRecord>> {
        self.with_client(|client| {
            let mut tx = client.transaction().map_err(db)?;
            let Some(meta) = Self::meta(&mut tx, &self.sql.select_meta, id)? else { return Ok(None) };
            let state: String = tx.query_one(&self.sql.select_state, &[&id]).map_err(db)?.try_get(0).map_err(db)?;
            let turns = tx
                .query(&self.sql.select_turns, &[&id])
                .map_err(db)?
                .iter()
                .map(|row| turn_from(row, BACKEND))
                .collect::<StoreResult<Vec<_>>>()?;
            tx.commit().map_err(db)?;
            Ok(Some(SessionRecord { meta, turns, dialog_state: parse_state(&state, BACKEND)? }))
        })
    }

    fn list(&self) -> StoreResult<Vec<SessionMeta>> {
        self.with_client(|client| client.query(&self.sql.list_meta, &[]).map_err(db)?.iter().map(meta_from).collect())
    }

    fn delete(&self, id: &str) -> StoreResult<bool> {
        self.with_client(|client| Ok(client.execute(&self.sql.delete_session, &[&id]).map_err(db)? > 0))
    }

    fn append(&self, id: &str, pair: &TurnPair) -> StoreResult<bool> {
        let state = serde_json::Value::Object(pair.dialog_state.clone()).to_string();
        self.with_client(|client| {
            let mut tx = client.transaction().map_err(db)?;
            // The UPDATE locks the session row, so concurrent appends to one session
            // (from any instance) take turns.
            let updated = tx
                .execute(&self.sql.touch_session, &[&id, &pair.bot.created_at, &state, &pair.title_hint])
                .map_err(db)?;
            if updated == 0 {
                return Ok(false);
            }
            let seq: i64 = tx.query_one(&self.sql.next_seq, &[&id]).map_err(db)?.try_get(0).map_err(db)?;
            for (i, turn) in [&pair.user, &pair.bot].into_iter().enumerate() {
                tx.execute(
                    &self.sql.insert_turn,
                    &[&id, &(seq + i as i64), &role_name(turn.role), &turn.utterance, &turn.rewritten, &turn.created_at],
                )
                .map_err(db)?;
            }
            tx.commit().map_err(db)?;
            Ok(true)
        })
    }
}
