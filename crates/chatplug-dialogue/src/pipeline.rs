//! `ChatPipeline`: the stages of reference §4 (module [`crate::stages`]) in order.
//! [`ChatPipeline::prepare`] runs everything up to generation without a model (what
//! `chatplug prompt` prints); [`ChatPipeline::chat`] also generates and
//! post-processes; [`ChatPipeline::training_passages`] runs only the stages that
//! build passages, for training data.

use crate::config::{Config, ModelType};
use crate::context::ContextSelection;
use crate::error::{DialogueError, Result};
use crate::grounding::find_evidence;
use crate::norepeat::{KeywordExtractor, SimpleKeywords, TextTokenizer};
use crate::passages::unmap_whitespace;
use crate::postprocess::{full_width_punctuation, postprocess, PostprocessNotes};
use crate::profiles::Profiles;
use crate::request::{ChatRequest, ChatResult, Evidence, ResponseType, Timings, Turn};
use crate::rewrite::UtteranceRewriter;
use crate::rules::{RuleHit, RuleSet};
use crate::safety::{Safety, SafetyHit};
use crate::search::{
    FaqHit, FaqRetriever, KnowledgeProvider, ProviderKind, QueryClassifier, QueryLabel,
    SearchResults,
};
use crate::skills::datetime::Clock;
use crate::skills::{SkillReply, Skills};
use crate::stages::{self, Answer, Stage, TurnState};
use crate::templates::TemplateSet;
use serde::Serialize;
use serde_json::{json, Map, Value};
use std::path::Path;
use std::ops::ControlFlow;
use std::sync::Arc;
use std::time::Instant;

/// The model behind the pipeline. The model crate implements it; the pipeline only
/// sees text.
pub trait Generator {
    /// `passages`: FiD passages (already whitespace-mapped; the generator tokenizes
    /// and truncates them to `max_encoder_length`). `options`: HF `generate` options
    /// by HF name (`num_beams`, `min_length`, `bad_words_ids`...). Returns the
    /// decoded reply.
    fn generate(
        &self,
        passages: &[String],
        options: &Map<String, Value>,
    ) -> std::result::Result<String, String>;

    /// Like [`Generator::generate`], handing text to `on_text` as it is produced
    /// (each call: the newly generated text, whole characters only). `on_text`
    /// returns `false` when nobody wants more (a streaming client went away); the
    /// generator then stops and returns an error. The default generates the whole
    /// reply and hands it over once, as generators that cannot stream token by
    /// token (beam search) must; such generators may call `on_text("")` now and then
    /// only to ask whether to go on.
    fn generate_streaming(
        &self,
        passages: &[String],
        options: &Map<String, Value>,
        on_text: &mut dyn FnMut(&str) -> bool,
    ) -> std::result::Result<Generated, String> {
        let text = self.generate(passages, options)?;
        if !text.is_empty() && !on_text(&text) {
            return Err(STOPPED.into());
        }
        Ok(Generated { text, usage: None })
    }
}

/// The error text of a generation stopped because `on_text` returned `false`.
pub const STOPPED: &str = "generation stopped: nobody is waiting for the reply";

/// A reply from [`Generator::generate_streaming`].
#[derive(Debug, Clone, PartialEq)]
pub struct Generated {
    pub text: String,
    /// Token counts, when the generator knows them.
    pub usage: Option<Usage>,
}

/// Tokens the model read (all passages, after truncation) and wrote (the reply,
/// without start and end tokens).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Usage {
    pub prompt_tokens: usize,
    pub completion_tokens: usize,
}

/// One provider's results, for the debug output.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ProviderResults {
    pub provider: String,
    pub kind: ProviderKind,
    pub query: String,
    pub results: SearchResults,
}

/// Every decision taken for a turn, plus timings. Serialized as the result's
/// `debug` and as `decisions` by `chatplug prompt`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct DebugInfo {
    pub query_rewritten: String,
    pub history_for_rewrite: Vec<String>,
    pub farewells_dropped: usize,
    pub is_persona_question: bool,
    pub safety: Option<SafetyHit>,
    pub hit_rule: Option<RuleHit>,
    pub faq: Option<FaqHit>,
    pub faq_knowledge: Vec<FaqHit>,
    pub invoke_skill_name: Option<String>,
    pub skill: Option<SkillReply>,
    pub need_search: bool,
    pub query_label: Option<QueryLabel>,
    pub search_query: Option<String>,
    pub search_results: Vec<ProviderResults>,
    pub selection: Option<ContextSelection>,
    pub profiles: Option<Profiles>,
    pub knowledge_chunks: Vec<String>,
    pub user_profile_chunks: Vec<String>,
    pub bot_profile_chunks: Vec<String>,
    /// Session utterances whose n-grams are banned (after digit and persona
    /// blanking).
    pub no_repeat_session: Vec<String>,
    /// The configured bad words.
    pub bad_words: Vec<String>,
    /// Number of banned token sequences (`None` without a tokenizer).
    pub bad_words_ids_count: Option<usize>,
    pub passages: Vec<String>,
    pub generation: Option<Map<String, Value>>,
    pub raw_response: Option<String>,
    pub postprocess: Option<PostprocessNotes>,
    /// Hook failures that were skipped (provider, classifier, rewriter, FAQ).
    pub warnings: Vec<String>,
    /// Milliseconds per stage.
    pub timings_ms: Timings,
}

/// How a prepared turn continues.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// A stage answered; no generation.
    Reply {
        response: String,
        response_type: ResponseType,
        evidence: Option<Evidence>,
    },
    /// Generate from these passages with these options.
    Generate {
        passages: Vec<String>,
        options: Map<String, Value>,
    },
}

/// A turn run up to generation.
#[derive(Debug, Clone)]
pub struct Prepared {
    pub outcome: Outcome,
    pub debug: DebugInfo,
    pub dialog_state: Map<String, Value>,
    /// History after farewell removal (post-processing looks at it).
    pub history: Vec<Turn>,
    /// Whole knowledge items (score 0) for grounding evidence.
    pub evidence_items: Vec<Evidence>,
}

/// The dialogue pipeline.
pub struct ChatPipeline {
    pub(crate) config: Config,
    pub(crate) templates: TemplateSet,
    pub(crate) rules: RuleSet,
    pub(crate) safety: Safety,
    pub(crate) skills: Skills,
    pub(crate) tokenizer: Option<Arc<dyn TextTokenizer>>,
    pub(crate) rewriter: Option<Arc<dyn UtteranceRewriter>>,
    pub(crate) classifier: Option<Arc<dyn QueryClassifier>>,
    pub(crate) providers: Vec<Arc<dyn KnowledgeProvider>>,
    pub(crate) faq: Option<Arc<dyn FaqRetriever>>,
    pub(crate) keywords: Arc<dyn KeywordExtractor>,
}

/// What the passage stages made of a training example: the chosen turns, profiles
/// and chunks (for export to other formats) and the passages themselves.
#[derive(Debug, Clone, PartialEq)]
pub struct TrainingInputs {
    pub selection: ContextSelection,
    pub profiles: Profiles,
    pub knowledge: Vec<String>,
    pub user_profile_chunks: Vec<String>,
    pub bot_profile_chunks: Vec<String>,
    /// Whitespace-mapped, as the generator receives them.
    pub passages: Vec<String>,
}

struct Stopwatch {
    start: Instant,
    last: Instant,
    timings: Timings,
}

impl Stopwatch {
    fn new() -> Self {
        let now = Instant::now();
        Stopwatch {
            start: now,
            last: now,
            timings: Timings::new(),
        }
    }
    /// Adds the time since the last lap to `stage`'s entry.
    fn lap(&mut self, stage: &str) {
        let now = Instant::now();
        *self.timings.entry(stage.to_string()).or_insert(0.0) +=
            (now - self.last).as_secs_f64() * 1000.0;
        self.last = now;
    }
    fn finish(mut self) -> Timings {
        self.timings
            .insert("total".into(), self.start.elapsed().as_secs_f64() * 1000.0);
        self.timings
    }
}

impl ChatPipeline {
    /// Builds the pipeline: loads the rule and safety files the config names.
    pub fn new(config: Config) -> Result<ChatPipeline> {
        config.validate()?;
        let templates = config.template_set()?;
        let rules = if config.rule_control_path.is_empty() {
            RuleSet::empty()
        } else {
            RuleSet::load(Path::new(&config.rule_control_path))?
        };
        let safety = Safety::from_config(&config)?;
        let skills = Skills::from_config(&config);
        Ok(ChatPipeline {
            config,
            templates,
            rules,
            safety,
            skills,
            tokenizer: None,
            rewriter: None,
            classifier: None,
            providers: Vec::new(),
            faq: None,
            keywords: Arc::new(SimpleKeywords),
        })
    }

    /// Tokenizer for `bad_words_ids` (without one, only the texts are reported).
    pub fn with_tokenizer(mut self, tokenizer: Arc<dyn TextTokenizer>) -> Self {
        self.tokenizer = Some(tokenizer);
        self
    }

    /// The loaded model's tokenizer family decides the whitespace tokens (`model_type`).
    pub fn with_model_type(mut self, model_type: ModelType) -> Self {
        self.config.model_type = model_type;
        self
    }
    pub fn with_rewriter(mut self, rewriter: Arc<dyn UtteranceRewriter>) -> Self {
        self.rewriter = Some(rewriter);
        self
    }
    pub fn with_classifier(mut self, classifier: Arc<dyn QueryClassifier>) -> Self {
        self.classifier = Some(classifier);
        self
    }
    /// Adds a knowledge provider; providers are consulted in the order added.
    pub fn with_provider(mut self, provider: Arc<dyn KnowledgeProvider>) -> Self {
        self.providers.push(provider);
        self
    }
    pub fn with_faq(mut self, faq: Arc<dyn FaqRetriever>) -> Self {
        self.faq = Some(faq);
        self
    }
    pub fn with_keyword_extractor(mut self, keywords: Arc<dyn KeywordExtractor>) -> Self {
        self.keywords = keywords;
        self
    }
    /// Replaces the calendar skill's clock.
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.skills = Skills::with_clock(&self.config, clock);
        self
    }
    /// Replaces the rule set (e.g. rules edited at run time).
    pub fn with_rules(mut self, rules: RuleSet) -> Self {
        self.rules = rules;
        self
    }

    pub fn config(&self) -> &Config {
        &self.config
    }
    pub fn templates(&self) -> &TemplateSet {
        &self.templates
    }

    /// Runs every stage up to generation ([`stages::INFERENCE`]).
    pub fn prepare(&self, request: &ChatRequest) -> Result<Prepared> {
        let mut state = TurnState::new(request);
        let mut sw = Stopwatch::new();
        let answer = self.run_stages(stages::INFERENCE, &mut state, &mut sw);
        state.debug.timings_ms = sw.finish();
        Ok(match answer {
            Some(a) => Prepared {
                outcome: Outcome::Reply {
                    response: a.response,
                    response_type: a.response_type,
                    evidence: a.evidence,
                },
                debug: state.debug,
                dialog_state: state.dialog_state,
                history: state.history,
                evidence_items: Vec::new(),
            },
            None => {
                let TurnState {
                    mut debug,
                    dialog_state,
                    history,
                    evidence_items,
                    selection,
                    profiles,
                    knowledge,
                    user_profile_chunks,
                    bot_profile_chunks,
                    passages,
                    session,
                    bad_words,
                    options,
                    ..
                } = state;
                debug.selection = selection;
                debug.profiles = profiles;
                debug.knowledge_chunks = knowledge;
                debug.user_profile_chunks = user_profile_chunks;
                debug.bot_profile_chunks = bot_profile_chunks;
                debug.no_repeat_session = session;
                debug.bad_words = bad_words;
                debug.passages = passages.clone();
                debug.generation = Some(options.clone());
                Prepared {
                    outcome: Outcome::Generate { passages, options },
                    debug,
                    dialog_state,
                    history,
                    evidence_items,
                }
            }
        })
    }

    /// Runs `list` in order until a stage answers; each stage's time is added to its
    /// timing key.
    fn run_stages(
        &self,
        list: &[Stage],
        state: &mut TurnState<'_>,
        sw: &mut Stopwatch,
    ) -> Option<Answer> {
        for stage in list {
            let flow = (stage.run)(self, state);
            sw.lap(stage.timing);
            if let ControlFlow::Break(answer) = flow {
                return Some(answer);
            }
        }
        None
    }

    /// The passage-building stages ([`stages::PASSAGES`]) for a training example:
    /// the same functions as [`ChatPipeline::prepare`] runs, without safety, rules,
    /// FAQ, skills, search providers, the no-repeat session and generation options.
    /// `templates` replaces the configured template set when given.
    pub fn training_inputs(
        &self,
        request: &ChatRequest,
        templates: Option<&TemplateSet>,
    ) -> Result<TrainingInputs> {
        let mut state = TurnState::new(request);
        state.templates = templates.cloned();
        let mut sw = Stopwatch::new();
        if let Some(answer) = self.run_stages(stages::PASSAGES, &mut state, &mut sw) {
            // No passage stage answers; a new one that does is a bug in the list.
            return Err(DialogueError::Hook {
                stage: "training passages".into(),
                message: format!("a passage stage answered the turn: {:?}", answer.response),
            });
        }
        Ok(TrainingInputs {
            selection: state.selection.unwrap_or_else(|| ContextSelection {
                utterance: request.query.clone(),
                context: Vec::new(),
                history: Vec::new(),
                use_context: false,
            }),
            profiles: state.profiles.unwrap_or_default(),
            knowledge: state.knowledge,
            user_profile_chunks: state.user_profile_chunks,
            bot_profile_chunks: state.bot_profile_chunks,
            passages: state.passages,
        })
    }

    /// The FiD passages a model trained on `request` should read: exactly those
    /// [`ChatPipeline::prepare`] gives the same request when no rule, FAQ, skill or
    /// search provider adds anything.
    pub fn training_passages(&self, request: &ChatRequest) -> Result<Vec<String>> {
        Ok(self.training_inputs(request, None)?.passages)
    }

    /// One full turn: prepare, generate, find grounding evidence, post-process.
    pub fn chat(&self, request: &ChatRequest, generator: &dyn Generator) -> Result<ChatResult> {
        self.run_turn(request, |passages, options| {
            let text = generator.generate(passages, options)?;
            Ok(Generated { text, usage: None })
        })
    }

    /// [`ChatPipeline::chat`] with the reply streamed to `on_text` while it is
    /// generated (see [`Generator::generate_streaming`]). The deltas have the
    /// whitespace mapping undone and ASCII punctuation made full width, so they
    /// usually add up to the final response; the result's `response` is
    /// authoritative (the safety filter or post-processing may replace it). Turns
    /// answered without the model (rules, FAQ, skills) send no delta.
    pub fn chat_streaming(
        &self,
        request: &ChatRequest,
        generator: &dyn Generator,
        on_text: &mut dyn FnMut(&str) -> bool,
    ) -> Result<ChatResult> {
        self.run_turn(request, |passages, options| {
            let mut mapped = |delta: &str| on_text(&full_width_punctuation(&unmap_whitespace(delta)));
            generator.generate_streaming(passages, options, &mut mapped)
        })
    }

    fn run_turn(
        &self,
        request: &ChatRequest,
        generate: impl FnOnce(&[String], &Map<String, Value>) -> std::result::Result<Generated, String>,
    ) -> Result<ChatResult> {
        let mut p = self.prepare(request)?;
        let (passages, options) = match p.outcome {
            Outcome::Reply {
                response,
                response_type,
                evidence,
            } => {
                return Ok(ChatResult {
                    response,
                    response_type,
                    grounding_evidence: evidence,
                    dialog_state: p.dialog_state,
                    debug: p.debug,
                    usage: None,
                });
            }
            Outcome::Generate { passages, options } => (passages, options),
        };
        let t = Instant::now();
        let generated = generate(&passages, &options).map_err(DialogueError::Generator)?;
        let raw = unmap_whitespace(&generated.text);
        p.debug
            .timings_ms
            .insert("generate".into(), t.elapsed().as_secs_f64() * 1000.0);
        let t = Instant::now();
        p.debug.raw_response = Some(raw.clone());
        let cfg = &self.config;
        let (response, response_type, evidence) = match self.safety.check_response(&raw) {
            Some(hit) => {
                let r = hit.response.clone();
                p.debug.safety = Some(hit);
                (r, ResponseType::Safety, None)
            }
            None => {
                let evidence = find_evidence(&raw, &p.evidence_items, cfg.grounding_threshold);
                let (r, notes) = postprocess(
                    &raw,
                    &p.history,
                    &cfg.topic_trigger_prefixes,
                    &cfg.topic_trigger_responses,
                    &cfg.repeat_prefixes,
                );
                p.debug.postprocess = Some(notes);
                (r, ResponseType::Model, evidence)
            }
        };
        let post = t.elapsed().as_secs_f64() * 1000.0;
        p.debug.timings_ms.insert("postprocess".into(), post);
        let generate = p.debug.timings_ms.get("generate").copied().unwrap_or(0.0);
        if let Some(total) = p.debug.timings_ms.get_mut("total") {
            *total += post + generate;
        }
        Ok(ChatResult {
            response,
            response_type,
            grounding_evidence: evidence,
            dialog_state: p.dialog_state,
            debug: p.debug,
            usage: generated.usage,
        })
    }

    /// What `chatplug prompt` prints: `passages`, `max_encoder_length`,
    /// `generation` (with `bad_words_ids` when a tokenizer is attached), `response`
    /// (set when a stage answered without the model) and `decisions`.
    pub fn prompt(&self, request: &ChatRequest) -> Result<Value> {
        let p = self.prepare(request)?;
        let mut decisions = serde_json::to_value(&p.debug).expect("debug serializes");
        if let Some(m) = decisions.as_object_mut() {
            m.remove("passages");
            m.remove("generation");
        }
        let (passages, generation, response) = match &p.outcome {
            Outcome::Generate { passages, options } => {
                (json!(passages), Value::Object(options.clone()), Value::Null)
            }
            Outcome::Reply {
                response,
                response_type,
                evidence,
            } => (
                json!([]),
                Value::Null,
                json!({"response": response, "response_type": response_type, "grounding_evidence": evidence}),
            ),
        };
        Ok(json!({
            "passages": passages,
            "max_encoder_length": self.config.core_chat_max_encoder_length,
            "generation": generation,
            "response": response,
            "decisions": decisions,
        }))
    }

    /// [`ChatPipeline::prompt`] for request JSON text.
    pub fn prompt_json(&self, request_json: &str) -> Result<Value> {
        self.prompt(&ChatRequest::from_json(request_json)?)
    }
}
