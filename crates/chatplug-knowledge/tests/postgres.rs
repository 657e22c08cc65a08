//! The PostgreSQL store, against a real server (`chatplug_testkit::TempPostgres`).

mod common;

use chatplug_knowledge::{KnowledgeStore, PgRanking, PgStore};
use chatplug_testkit::TempPostgres;

#[test]
fn tsvector_store_behaves_like_every_store() {
    let pg = TempPostgres::start().unwrap();
    let store = PgStore::connect(&pg.url(), PgRanking::Tsvector).unwrap();
    common::documents_can_be_added_replaced_and_deleted(&store);
    common::faq_scores_are_question_similarities(&store);
}

#[test]
fn trigram_ranking_finds_documents_and_servers_share_the_store() {
    let pg = TempPostgres::start().unwrap();
    let writer = PgStore::connect(&pg.connection_string(), PgRanking::Trigram).unwrap();
    writer
        .upsert_documents(&[
            chatplug_knowledge::Document::new("panda", None, "大熊猫主要吃竹子，生活在四川的山区。"),
            chatplug_knowledge::Document::new("wall", None, "长城东起辽宁虎山，西至甘肃嘉峪关。"),
        ])
        .unwrap();
    // A second connection (another chat server) sees the same knowledge.
    let reader = PgStore::connect(&pg.url(), PgRanking::Trigram).unwrap();
    assert_eq!(reader.search("熊猫吃竹子吗", 3).unwrap()[0].doc_id, "panda");
    assert_eq!(reader.search("嘉峪关", 3).unwrap()[0].doc_id, "wall");
}

#[test]
fn a_bad_url_is_a_clear_error() {
    let port = chatplug_testkit::free_port();
    let e = PgStore::connect(&format!("postgres://u:secret@127.0.0.1:{port}/x"), PgRanking::Tsvector)
        .err()
        .unwrap()
        .to_string();
    assert!(e.contains("cannot connect") && !e.contains("secret"), "{e}");
}
