//! SQL shared by the SQLite and PostgreSQL stores, and row decoding over either
//! driver's rows. Statements are written with PostgreSQL's `$N` parameters; SQLite
//! gets `?N` (its `$N` would be a named parameter numbered by first appearance).

use super::{parse_role, SessionMeta, StoreResult, StoredTurn};

/// Table names carry the configured prefix: `{prefix}_sessions`, `{prefix}_turns`.
pub struct Sql {
    pub schema: String,
    pub insert_session: String,
    pub select_meta: String,
    pub list_meta: String,
    pub select_state: String,
    pub select_turns: String,
    pub delete_session: String,
    pub touch_session: String,
    pub next_seq: String,
    pub insert_turn: String,
}

impl Sql {
    pub fn postgres(prefix: &str) -> Sql {
        Sql::new(prefix)
    }

    pub fn sqlite(prefix: &str) -> Sql {
        let mut sql = Sql::new(prefix);
        for statement in [
            &mut sql.insert_session,
            &mut sql.select_meta,
            &mut sql.select_state,
            &mut sql.select_turns,
            &mut sql.delete_session,
            &mut sql.touch_session,
            &mut sql.next_seq,
            &mut sql.insert_turn,
        ] {
            *statement = statement.replace('$', "?");
        }
        sql
    }

    fn new(prefix: &str) -> Sql {
        let s = format!("{prefix}_sessions");
        let t = format!("{prefix}_turns");
        let meta = format!(
            "SELECT s.id, s.title, s.created_at, s.updated_at, s.bot_profile, s.user_profile, s.role_instruction, \
             (SELECT COUNT(*) FROM {t} x WHERE x.session_id = s.id) FROM {s} s"
        );
        Sql {
            schema: format!(
                "CREATE TABLE IF NOT EXISTS {s} (id TEXT PRIMARY KEY, title TEXT NOT NULL, created_at TEXT NOT NULL, \
                 updated_at TEXT NOT NULL, bot_profile TEXT NOT NULL, user_profile TEXT NOT NULL, \
                 role_instruction TEXT, dialog_state TEXT NOT NULL);
                 CREATE TABLE IF NOT EXISTS {t} (session_id TEXT NOT NULL REFERENCES {s}(id) ON DELETE CASCADE, \
                 seq BIGINT NOT NULL, role TEXT NOT NULL, utterance TEXT NOT NULL, rewritten TEXT, \
                 created_at TEXT NOT NULL, PRIMARY KEY (session_id, seq));
                 CREATE INDEX IF NOT EXISTS {s}_updated ON {s} (updated_at);"
            ),
            insert_session: format!(
                "INSERT INTO {s} (id, title, created_at, updated_at, bot_profile, user_profile, role_instruction, \
                 dialog_state) VALUES ($1, $2, $3, $3, $4, $5, $6, '{{}}')"
            ),
            select_meta: format!("{meta} WHERE s.id = $1"),
            list_meta: format!("{meta} ORDER BY s.updated_at DESC, s.id"),
            select_state: format!("SELECT dialog_state FROM {s} WHERE id = $1"),
            select_turns: format!(
                "SELECT role, utterance, rewritten, created_at FROM {t} WHERE session_id = $1 ORDER BY seq"
            ),
            delete_session: format!("DELETE FROM {s} WHERE id = $1"),
            touch_session: format!(
                "UPDATE {s} SET updated_at = $2, dialog_state = $3, \
                 title = CASE WHEN title = '' THEN $4 ELSE title END WHERE id = $1"
            ),
            next_seq: format!("SELECT COALESCE(MAX(seq), -1) + 1 FROM {t} WHERE session_id = $1"),
            insert_turn: format!(
                "INSERT INTO {t} (session_id, seq, role, utterance, rewritten, created_at) VALUES ($1, $2, $3, $4, $5, $6)"
            ),
        }
    }
}

/// Column access over a driver's row.
pub trait Columns {
    fn text(&self, i: usize) -> StoreResult<String>;
    fn opt_text(&self, i: usize) -> StoreResult<Option<String>>;
    fn int(&self, i: usize) -> StoreResult<i64>;
}

/// A row of `select_meta` / `list_meta`.
pub fn meta_from(row: &impl Columns) -> StoreResult<SessionMeta> {
    Ok(SessionMeta {
        id: row.text(0)?,
        title: row.text(1)?,
        created_at: row.text(2)?,
        updated_at: row.text(3)?,
        bot_profile: row.text(4)?,
        user_profile: row.text(5)?,
        role_instruction: row.opt_text(6)?,
        turn_count: row.int(7)?.max(0) as usize,
    })
}

/// A row of `select_turns`.
pub fn turn_from(row: &impl Columns, backend: &'static str) -> StoreResult<StoredTurn> {
    Ok(StoredTurn {
        role: parse_role(&row.text(0)?, backend)?,
        utterance: row.text(1)?,
        rewritten: row.opt_text(2)?,
        created_at: row.text(3)?,
    })
}
