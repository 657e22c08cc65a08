//! The pipeline's stages (reference §4) as named functions over one [`TurnState`],
//! run in the reference's order. Every stage may end the turn with an [`Answer`] of
//! its own (`ControlFlow::Break`); most never do.
//!
//! Two stage lists share the same functions:
//! - [`INFERENCE`]: every stage, what [`ChatPipeline::prepare`] runs;
//! - [`PASSAGES`]: only the stages that turn a request into FiD passages (no safety,
//!   rules, FAQ, skills, search providers, no-repeat session or generation options),
//!   what training-data builders run through [`ChatPipeline::training_inputs`].
//!
//! [`PASSAGES`] is a subsequence of [`INFERENCE`] (a test checks it), so what a model
//! is trained on is built by the very code that builds what it sees at inference.
//!
//! [`ChatPipeline::prepare`]: crate::ChatPipeline::prepare
//! [`ChatPipeline::training_inputs`]: crate::ChatPipeline::training_inputs

mod answering;
mod generation;
mod input;
mod knowledge;
mod passages;

use crate::context::ContextSelection;
use crate::pipeline::{ChatPipeline, DebugInfo};
use crate::profiles::Profiles;
use crate::request::{ChatRequest, Evidence, ResponseType, Turn};
use crate::search::SearchDecision;
use crate::templates::TemplateSet;
use serde_json::{Map, Value};
use std::ops::ControlFlow;

/// A reply given by a stage itself (rule, FAQ, skill, safety, search card).
#[derive(Debug, Clone, PartialEq)]
pub struct Answer {
    pub response: String,
    pub response_type: ResponseType,
    pub evidence: Option<Evidence>,
}

/// What a stage returns: go on, or end the turn with an answer.
pub type Flow = ControlFlow<Answer>;

/// One named stage. `timing` is the key its time is added to in
/// `DebugInfo::timings_ms` (several small stages share one key, e.g. all passage
/// stages count as `passages`).
#[derive(Clone, Copy)]
pub struct Stage {
    pub name: &'static str,
    pub timing: &'static str,
    pub run: fn(&ChatPipeline, &mut TurnState<'_>) -> Flow,
}

impl std::fmt::Debug for Stage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name)
    }
}

const fn stage(
    name: &'static str,
    timing: &'static str,
    run: fn(&ChatPipeline, &mut TurnState<'_>) -> Flow,
) -> Stage {
    Stage { name, timing, run }
}

const FAREWELLS: Stage = stage("farewells", "rewrite", input::drop_farewell_turns);
const REWRITE: Stage = stage("rewrite", "rewrite", input::rewrite_query);
const QUERY_SAFETY: Stage = stage("query_safety", "safety", answering::query_safety);
const RULE_CONTROL: Stage = stage("rule_control", "rule", answering::rule_control);
const FAQ: Stage = stage("faq", "faq", answering::faq);
const SKILLS: Stage = stage("skills", "skill", answering::skills);
const SEARCH_DECISION: Stage = stage(
    "search_decision",
    "search_decision",
    knowledge::search_decision,
);
const KNOWLEDGE_PROVIDERS: Stage = stage("knowledge_providers", "search", knowledge::providers);
const CONTEXT_SELECTION: Stage = stage("context_selection", "passages", passages::select);
const DYNAMIC_PROFILES: Stage = stage("dynamic_profiles", "passages", passages::profiles);
const CHUNKING: Stage = stage("chunking", "passages", passages::chunk);
const TEMPLATES: Stage = stage("templates", "passages", passages::fill_templates);
const WHITESPACE_MAPPING: Stage = stage("whitespace_mapping", "passages", passages::map_spaces);
const NO_REPEAT: Stage = stage("no_repeat_session", "no_repeat", generation::no_repeat);
const GENERATION_OPTIONS: Stage = stage("generation_options", "no_repeat", generation::options);

/// Every stage, in the reference's order.
pub const INFERENCE: &[Stage] = &[
    FAREWELLS,
    REWRITE,
    QUERY_SAFETY,
    RULE_CONTROL,
    FAQ,
    SKILLS,
    SEARCH_DECISION,
    KNOWLEDGE_PROVIDERS,
    CONTEXT_SELECTION,
    DYNAMIC_PROFILES,
    CHUNKING,
    TEMPLATES,
    WHITESPACE_MAPPING,
    NO_REPEAT,
    GENERATION_OPTIONS,
];

/// The stages that build passages from a request, for training data. The farewell,
/// rewrite and search-decision stages are here because the passages depend on them
/// (farewell turns become `#`; persona questions and the classifier's label decide
/// whether context is used); none of them can answer a turn.
pub const PASSAGES: &[Stage] = &[
    FAREWELLS,
    REWRITE,
    SEARCH_DECISION,
    CONTEXT_SELECTION,
    DYNAMIC_PROFILES,
    CHUNKING,
    TEMPLATES,
    WHITESPACE_MAPPING,
];

/// Everything the stages know about one turn, filled in as they run.
#[derive(Debug, Clone)]
pub struct TurnState<'r> {
    pub request: &'r ChatRequest,
    /// History after farewell removal.
    pub history: Vec<Turn>,
    /// The query after rewriting (the query itself without a rewriter).
    pub rewritten: String,
    pub persona_question: bool,
    pub dialog_state: Map<String, Value>,
    pub debug: DebugInfo,
    /// Set by rule control: a search query replacing the user's.
    pub reform_search_query: Option<String>,
    /// Set by rule control: knowledge added to the passages.
    pub rule_knowledge: Option<String>,
    /// Set by rule control or the FAQ: the skill to invoke.
    pub invoke_skill: Option<String>,
    pub decision: Option<SearchDecision>,
    /// Chunks of the knowledge providers' results.
    pub retrieved_chunks: Vec<String>,
    /// Whole knowledge items, for grounding evidence.
    pub evidence_items: Vec<Evidence>,
    pub selection: Option<ContextSelection>,
    pub profiles: Option<Profiles>,
    /// Knowledge chunks, in passage order.
    pub knowledge: Vec<String>,
    pub user_profile_chunks: Vec<String>,
    pub bot_profile_chunks: Vec<String>,
    /// Templates replacing the pipeline's for this turn (a training-data builder's
    /// choice); `None`: the configured set.
    pub templates: Option<TemplateSet>,
    pub passages: Vec<String>,
    /// No-repeat session utterances (after blanking).
    pub session: Vec<String>,
    pub bad_words: Vec<String>,
    /// Generation options.
    pub options: Map<String, Value>,
}

impl<'r> TurnState<'r> {
    pub fn new(request: &'r ChatRequest) -> TurnState<'r> {
        TurnState {
            request,
            history: request.history.clone(),
            rewritten: request.query.clone(),
            persona_question: false,
            dialog_state: request.dialog_state.clone(),
            debug: DebugInfo::default(),
            reform_search_query: None,
            rule_knowledge: None,
            invoke_skill: None,
            decision: None,
            retrieved_chunks: Vec::new(),
            evidence_items: Vec::new(),
            selection: None,
            profiles: None,
            knowledge: Vec::new(),
            user_profile_chunks: Vec::new(),
            bot_profile_chunks: Vec::new(),
            templates: None,
            passages: Vec::new(),
            session: Vec::new(),
            bad_words: Vec::new(),
            options: Map::new(),
        }
    }

    /// The search decision, or the rule-only one when the decision stage did not run.
    pub(crate) fn allows_context(&self) -> bool {
        self.decision.is_none_or(|d| d.allows_context())
    }
}
