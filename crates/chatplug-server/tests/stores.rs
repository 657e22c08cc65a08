//! The session store contract, run against each backend on a real server: SQLite in a
//! temporary folder, PostgreSQL and Redis started by `chatplug-testkit`. Each backend
//! is also reopened (and its database server restarted) to check nothing committed is
//! lost.

use std::sync::Arc;

use chatplug_dialogue::Role;
use chatplug_server::sessions::{
    new_session_id, now_rfc3339, NewSession, PostgresStore, RedisStore, SessionStore, SqliteStore, StoredTurn, TurnPair,
};
use chatplug_testkit::{TempPostgres, TempRedis};
use serde_json::{json, Map, Value};

fn turn(role: Role, text: &str, rewritten: Option<&str>) -> StoredTurn {
    StoredTurn { role, utterance: text.into(), rewritten: rewritten.map(String::from), created_at: now_rfc3339() }
}

fn pair(user: &str, bot: &str, state: Value) -> TurnPair {
    let Value::Object(dialog_state) = state else { panic!() };
    TurnPair {
        user: turn(Role::User, user, Some(&format!("{user}(改写)"))),
        bot: turn(Role::Bot, bot, None),
        dialog_state,
        title_hint: user.chars().take(30).collect(),
    }
}

/// Creates two sessions with turns; returns their ids (the second updated last).
fn fill(store: &dyn SessionStore) -> (String, String) {
    let a = new_session_id();
    let b = new_session_id();
    let new_a = NewSession { title: String::new(), bot_profile: "我是小婉".into(), user_profile: "我喜欢猫".into(), role_instruction: Some("说话温柔".into()) };
    let meta = store.create(&a, &new_a, &now_rfc3339()).unwrap();
    assert_eq!(meta.id, a);
    assert_eq!(meta.turn_count, 0);
    assert_eq!(meta.role_instruction.as_deref(), Some("说话温柔"));
    store.create(&b, &NewSession { title: "第二个".into(), ..Default::default() }, &now_rfc3339()).unwrap();
    assert!(store.append(&a, &pair("你好", "你好呀", json!({"ds_hang_skill": null}))).unwrap());
    assert!(store.append(&a, &pair("你叫什么", "我叫小婉", json!({"k": 1}))).unwrap());
    assert!(store.append(&b, &pair("在吗", "在的", json!({}))).unwrap());
    (a, b)
}

fn check(store: &dyn SessionStore, a: &str, b: &str) {
    let rec = store.get(a).unwrap().expect("session a");
    assert_eq!(rec.meta.title, "你好", "the first query names an untitled session");
    assert_eq!(rec.meta.bot_profile, "我是小婉");
    assert_eq!(rec.meta.user_profile, "我喜欢猫");
    assert_eq!(rec.meta.turn_count, 4);
    let texts: Vec<(&str, Option<&str>)> = rec.turns.iter().map(|t| (t.utterance.as_str(), t.rewritten.as_deref())).collect();
    assert_eq!(
        texts,
        [("你好", Some("你好(改写)")), ("你好呀", None), ("你叫什么", Some("你叫什么(改写)")), ("我叫小婉", None)]
    );
    assert_eq!(rec.turns[0].role, Role::User);
    assert_eq!(rec.turns[1].role, Role::Bot);
    let mut want = Map::new();
    want.insert("k".into(), json!(1));
    assert_eq!(rec.dialog_state, want);
    assert_eq!(store.get(b).unwrap().unwrap().meta.title, "第二个", "a given title stays");
    let list = store.list().unwrap();
    let ids: Vec<&str> = list.iter().map(|m| m.id.as_str()).collect();
    assert_eq!(ids, [b, a], "newest update first");
    assert_eq!(list[1].turn_count, 4);
}

fn contract(store: &dyn SessionStore) -> (String, String) {
    assert!(store.get("nope").unwrap().is_none());
    assert!(!store.append("nope", &pair("x", "y", json!({}))).unwrap(), "no turns for an unknown session");
    let (a, b) = fill(store);
    check(store, &a, &b);
    let c = new_session_id();
    store.create(&c, &NewSession::default(), &now_rfc3339()).unwrap();
    assert!(store.delete(&c).unwrap());
    assert!(!store.delete(&c).unwrap());
    assert!(store.get(&c).unwrap().is_none());
    assert!(!store.append(&c, &pair("x", "y", json!({}))).unwrap());
    (a, b)
}

/// Appends from several threads at once to one session: every turn lands, in pairs.
fn concurrent_appends(store: Arc<dyn SessionStore>) {
    let id = new_session_id();
    store.create(&id, &NewSession::default(), &now_rfc3339()).unwrap();
    let threads: Vec<_> = (0..4)
        .map(|t| {
            let (store, id) = (store.clone(), id.clone());
            std::thread::spawn(move || {
                for i in 0..5 {
                    assert!(store.append(&id, &pair(&format!("q{t}-{i}"), &format!("a{t}-{i}"), json!({}))).unwrap());
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let rec = store.get(&id).unwrap().unwrap();
    assert_eq!(rec.turns.len(), 40);
    for p in rec.turns.chunks(2) {
        assert_eq!(p[0].utterance[1..], p[1].utterance[1..], "a user turn is followed by its reply");
    }
}

#[test]
fn sqlite_store() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sub/sessions.sqlite3");
    let (a, b) = {
        let store = SqliteStore::open(&path).unwrap();
        contract(&store)
    };
    let reopened = SqliteStore::open(&path).unwrap();
    check(&reopened, &a, &b);
    concurrent_appends(Arc::new(reopened));
}

#[test]
fn postgres_store() {
    let pg = TempPostgres::start().expect("PostgreSQL for the test");
    let url = pg.connection_string();
    let store = PostgresStore::connect(&url, "chatplug").unwrap();
    let (a, b) = contract(&store);
    // The database restarts under a connected store: the next call reconnects.
    pg.stop().unwrap();
    pg.restart().unwrap();
    check(&store, &a, &b);
    check(&PostgresStore::connect(&url, "chatplug").unwrap(), &a, &b);
    // Another prefix is another set of tables.
    assert!(PostgresStore::connect(&url, "other").unwrap().list().unwrap().is_empty());
    concurrent_appends(Arc::new(store));
}

#[test]
fn redis_store() {
    let mut redis = TempRedis::start().expect("Redis for the test");
    let store = RedisStore::connect(&redis.url(), "chatplug").unwrap();
    let (a, b) = contract(&store);
    redis.restart().unwrap();
    check(&RedisStore::connect(&redis.url(), "chatplug").unwrap(), &a, &b);
    assert!(RedisStore::connect(&redis.url(), "other").unwrap().list().unwrap().is_empty());
    concurrent_appends(Arc::new(store));
}

#[test]
fn bad_urls_are_clear_errors() {
    let e = RedisStore::connect("not a url", "p").err().unwrap();
    assert!(e.to_string().contains("redis"), "{e}");
    let e = PostgresStore::connect("host=127.0.0.1 port=1 user=x connect_timeout=2", "p").err().unwrap();
    assert!(e.to_string().contains("postgres"), "{e}");
}
