//! The embedded (tantivy) store.

mod common;

use chatplug_knowledge::{EmbeddedStore, KnowledgeStore};

#[test]
fn documents_can_be_added_replaced_and_deleted() {
    let dir = tempfile::tempdir().unwrap();
    let store = EmbeddedStore::open(dir.path(), true).unwrap();
    common::documents_can_be_added_replaced_and_deleted(&store);
}

#[test]
fn faq_scores_are_question_similarities() {
    let dir = tempfile::tempdir().unwrap();
    let store = EmbeddedStore::open(dir.path(), true).unwrap();
    common::faq_scores_are_question_similarities(&store);
}

#[test]
fn the_index_persists_and_a_missing_one_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let kb = dir.path().join("kb");
    let e = EmbeddedStore::open(&kb, false).err().unwrap().to_string();
    assert!(e.contains("no knowledge base"), "{e}");
    {
        let store = EmbeddedStore::open(&kb, true).unwrap();
        store.upsert_documents(&[chatplug_knowledge::Document::new("a", None, "黄山有迎客松。")]).unwrap();
    }
    let store = EmbeddedStore::open(&kb, false).unwrap();
    assert_eq!(store.search("迎客松", 3).unwrap()[0].doc_id, "a");
}
