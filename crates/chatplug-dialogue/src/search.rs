//! Learn-to-search (reference §4 stages 5, 7–9): whether the turn needs external
//! knowledge, and the hooks a later issue fills in (query classifier, web / graph
//! knowledge providers, local FAQ retrieval).

use crate::text::{is_persona_question, is_question, is_special_skill};
use serde::{Deserialize, Serialize};

/// A query classifier's label.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum QueryLabel {
    /// Chit-chat: answer from the dialogue context.
    Chitchat,
    /// An encyclopedic question: search, and drop the dialogue context.
    BaikeQa,
}

/// Classifies queries (the reference's BERT query classifier).
pub trait QueryClassifier: Send + Sync {
    fn classify(&self, query: &str) -> Result<QueryLabel, String>;
}

/// The search decision for one turn.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SearchDecision {
    pub need_search: bool,
    /// The classifier's label; `chitchat` when there is no classifier (as in the
    /// reference's rule-only learn-to-search).
    pub query_label: QueryLabel,
    /// Whether a classifier was consulted.
    pub classified: bool,
}

impl SearchDecision {
    /// Whether the dialogue context may be used (no classifier, or chit-chat).
    pub fn allows_context(&self) -> bool {
        !self.classified || self.query_label == QueryLabel::Chitchat
    }
}

/// Decides whether to search. Without a classifier: a question that is not a persona
/// question. With one: not a persona question, and a special-skill query or an
/// encyclopedic one.
pub fn decide(
    query: &str,
    classifier: Option<&dyn QueryClassifier>,
) -> Result<SearchDecision, String> {
    match classifier {
        None => Ok(SearchDecision {
            need_search: is_question(query) && !is_persona_question(query),
            query_label: QueryLabel::Chitchat,
            classified: false,
        }),
        Some(c) => {
            let label = c.classify(query)?;
            Ok(SearchDecision {
                need_search: !is_persona_question(query)
                    && (is_special_skill(query) || label == QueryLabel::BaikeQa),
                query_label: label,
                classified: true,
            })
        }
    }
}

/// How a provider's results enter the passages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProviderKind {
    /// Web / news search: consulted when the turn needs search; every snippet is
    /// chunked.
    Web,
    /// Knowledge-graph triples (`s p o`): consulted for every non-persona question
    /// turn; triples are joined with `, `, chunked, and at most 5 chunks kept.
    Graph,
}

/// One retrieved text.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Snippet {
    pub text: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// Where it came from (`bing`, `searxng`, `kb`, ...); the provider's name when
    /// left out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// The retriever's relevance score (BM25, rank-based...), when it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub score: Option<f64>,
    /// The id of the source document (knowledge-base hits).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub doc_id: Option<String>,
}

impl Snippet {
    pub fn new(text: impl Into<String>) -> Self {
        Snippet {
            text: text.into(),
            title: None,
            url: None,
            source: None,
            score: None,
            doc_id: None,
        }
    }
}

/// A provider's answer.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SearchResults {
    pub snippets: Vec<Snippet>,
    /// The first snippet is a direct answer (computation, time zone, translation
    /// cards): it is the reply, no generation.
    #[serde(default)]
    pub special_card: bool,
}

/// A knowledge source (web search, knowledge graph...).
pub trait KnowledgeProvider: Send + Sync {
    /// Name used as the evidence source in results.
    fn name(&self) -> &str;
    fn kind(&self) -> ProviderKind {
        ProviderKind::Web
    }
    fn search(&self, query: &str) -> Result<SearchResults, String>;
    /// Each member's outcome, by member name, for a provider that fans out to several
    /// (the pipeline reports every member's results or failure); one part by default.
    fn search_parts(&self, query: &str) -> Vec<(String, Result<SearchResults, String>)> {
        vec![(self.name().to_string(), self.search(query))]
    }
}

/// A local FAQ match.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FaqHit {
    pub question: String,
    pub answer: String,
    pub score: f64,
}

/// Local FAQ retrieval (Elasticsearch in the reference). Hits are best first.
pub trait FaqRetriever: Send + Sync {
    fn retrieve(&self, query: &str, size: usize) -> Result<Vec<FaqHit>, String>;
}
