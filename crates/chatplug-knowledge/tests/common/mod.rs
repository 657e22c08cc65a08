//! Behaviour every knowledge store must show, run against each backend.

use chatplug_knowledge::{Document, FaqEntry, KnowledgeStore};

fn ids(store: &dyn KnowledgeStore, q: &str) -> Vec<String> {
    store.search(q, 5).unwrap().into_iter().map(|h| h.doc_id).collect()
}

pub fn documents_can_be_added_replaced_and_deleted(store: &dyn KnowledgeStore) {
    let long: String = "都江堰的鱼嘴把岷江分成内江和外江。".repeat(30);
    let docs = vec![
        Document::new("panda", Some("大熊猫".into()), "大熊猫主要吃竹子，生活在四川的山区。"),
        Document::new("wall", None, "长城东起辽宁虎山，西至甘肃嘉峪关。"),
        Document::new("dam", None, long),
    ];
    let s = store.upsert_documents(&docs).unwrap();
    assert_eq!((s.documents, s.replaced), (3, 0));
    assert!(s.passages > 3, "the long document is cut into several passages: {s:?}");
    assert_eq!(store.counts().unwrap().0, 3);

    let hits = store.search("熊猫平时吃什么", 5).unwrap();
    assert_eq!(hits[0].doc_id, "panda");
    assert!(hits[0].score > 0.0);
    assert!(hits[0].text.contains("竹子"));
    // At most one passage per document.
    let dam_hits = store.search("岷江 内江 外江", 5).unwrap();
    assert_eq!(dam_hits.iter().filter(|h| h.doc_id == "dam").count(), 1);
    assert!(dam_hits[0].text.chars().count() <= 300);

    // Same id: all old passages are replaced.
    let s = store.upsert_documents(&[Document::new("panda", None, "小熊猫是另一种动物，爱吃水果。")]).unwrap();
    assert_eq!(s.replaced, 1);
    assert!(!ids(store, "竹子").contains(&"panda".to_string()));
    assert_eq!(ids(store, "水果")[0], "panda");

    assert_eq!(store.delete_documents(&["wall".into(), "nothing".into()]).unwrap(), 1);
    assert!(!ids(store, "嘉峪关在哪").contains(&"wall".to_string()));
    assert_eq!(store.counts().unwrap().0, 2);
}

pub fn faq_scores_are_question_similarities(store: &dyn KnowledgeStore) {
    let entries = vec![
        FaqEntry {
            id: "hours".into(),
            question: "你们几点开门？".into(),
            similar: vec!["营业时间是什么时候".into()],
            answer: "每天早上九点开门。".into(),
        },
        FaqEntry { id: "refund".into(), question: "怎么申请退款".into(), similar: vec![], answer: "在订单页点退款。".into() },
    ];
    assert_eq!(store.upsert_faq(&entries).unwrap(), 0);
    assert_eq!(store.counts().unwrap().1, 2);

    // Exact (up to punctuation) similar question: score 1, above the direct-answer threshold.
    let hits = store.search_faq("营业时间是什么时候？", 3).unwrap();
    assert_eq!(hits[0].id, "hours");
    assert_eq!(hits[0].question, "你们几点开门？");
    assert_eq!(hits[0].score, 1.0);
    // A looser wording scores lower (below the 0.9 knowledge threshold).
    let hits = store.search_faq("退款要怎么弄", 3).unwrap();
    assert_eq!(hits[0].id, "refund");
    assert!(hits[0].score < 0.9, "{hits:?}");

    // Replacing and deleting by id.
    let changed = FaqEntry { answer: "十点开门。".into(), similar: vec![], ..entries[0].clone() };
    assert_eq!(store.upsert_faq(&[changed]).unwrap(), 1);
    assert!(store.search_faq("营业时间是什么时候", 3).unwrap().iter().all(|h| h.score < 1.0));
    assert_eq!(store.search_faq("你们几点开门", 1).unwrap()[0].answer, "十点开门。");
    assert_eq!(store.delete_faq(&["hours".into()]).unwrap(), 1);
    assert!(store.search_faq("你们几点开门", 3).unwrap().iter().all(|h| h.id != "hours"));
    assert_eq!(store.counts().unwrap().1, 1);
}
