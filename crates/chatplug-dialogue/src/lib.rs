//! ChatPLUG's dialogue pipeline without tensors: request/result types, the stages of
//! the reference `ChatPipeline` (farewells, rewriting hook, safety, rule control,
//! FAQ hook, skills, learn-to-search, context selection, dynamic profiles, FiD
//! passages, no-repeat session, generation options, grounding, post-processing),
//! and a multi-turn [`Session`]. The model sits behind [`Generator`]; the tokenizer
//! behind [`TextTokenizer`].
//!
//! Entry points: [`Config::load`] → [`ChatPipeline::new`] → [`ChatPipeline::prompt`]
//! (no model) or [`ChatPipeline::chat`] / [`Session::chat`];
//! [`ChatPipeline::training_passages`] for training data (the passage stages only).

pub mod chunking;
pub mod config;
pub mod context;
pub mod error;
pub mod grounding;
pub mod norepeat;
pub mod passages;
pub mod pipeline;
pub mod postprocess;
pub mod profiles;
pub mod request;
pub mod rewrite;
pub mod rules;
pub mod safety;
pub mod search;
pub mod session;
pub mod skills;
pub mod stages;
pub mod templates;
pub mod text;

pub use config::{Config, GenerateConfig, ModelType};
pub use error::{DialogueError, Result};
pub use norepeat::{KeywordExtractor, NoKeywords, SimpleKeywords, TextTokenizer};
pub use pipeline::{
    ChatPipeline, DebugInfo, Generated, Generator, Outcome, Prepared, TrainingInputs, Usage,
    STOPPED,
};
pub use request::{ChatRequest, ChatResult, Evidence, ResponseType, Role, Turn};
pub use rewrite::UtteranceRewriter;
pub use rules::RuleSet;
pub use search::{
    FaqHit, FaqRetriever, KnowledgeProvider, ProviderKind, QueryClassifier, QueryLabel,
    SearchResults, Snippet,
};
pub use session::{Session, SessionProfiles};
pub use skills::datetime::{Clock, FixedClock, LocalDateTime, SystemClock};
pub use templates::{TemplatePreset, TemplateSet};
