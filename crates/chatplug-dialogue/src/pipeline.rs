//! `ChatPipeline`: the stages of reference §4 in order. [`ChatPipeline::prepare`]
//! runs everything up to generation without a model (what `chatplug prompt`
//! prints); [`ChatPipeline::chat`] also generates and post-processes.

use crate::chunking::split_chunks;
use crate::config::{Config, ModelType};
use crate::context::{drop_farewells, select_context, ContextSelection};
use crate::error::{DialogueError, Result};
use crate::grounding::find_evidence;
use crate::norepeat::{
    bad_words_ids, blank_persona_keywords, session_utterances, KeywordExtractor, SimpleKeywords,
    TextTokenizer,
};
use crate::passages::{build_passages, map_whitespace, unmap_whitespace, PassageInputs};
use crate::postprocess::{full_width_punctuation, postprocess, PostprocessNotes};
use crate::profiles::{build_profiles, Profiles};
use crate::request::{ChatRequest, ChatResult, Evidence, ResponseType, Timings, Turn};
use crate::rewrite::{rewrite_input, UtteranceRewriter};
use crate::rules::{RuleHit, RuleSet};
use crate::safety::{Safety, SafetyHit};
use crate::search::{
    decide, FaqHit, FaqRetriever, KnowledgeProvider, ProviderKind, QueryClassifier, QueryLabel,
    SearchResults,
};
use crate::skills::datetime::Clock;
use crate::skills::{canonical_name, SkillReply, Skills};
use crate::templates::TemplateSet;
use crate::text::{is_persona_question, join_non_empty, pick};
use serde::Serialize;
use serde_json::{json, Map, Value};
use std::path::Path;
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
    config: Config,
    templates: TemplateSet,
    rules: RuleSet,
    safety: Safety,
    skills: Skills,
    tokenizer: Option<Arc<dyn TextTokenizer>>,
    rewriter: Option<Arc<dyn UtteranceRewriter>>,
    classifier: Option<Arc<dyn QueryClassifier>>,
    providers: Vec<Arc<dyn KnowledgeProvider>>,
    faq: Option<Arc<dyn FaqRetriever>>,
    keywords: Arc<dyn KeywordExtractor>,
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
    fn lap(&mut self, stage: &str) {
        let now = Instant::now();
        self.timings
            .insert(stage.to_string(), (now - self.last).as_secs_f64() * 1000.0);
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

    /// Runs every stage up to generation.
    pub fn prepare(&self, request: &ChatRequest) -> Result<Prepared> {
        let cfg = &self.config;
        let mut sw = Stopwatch::new();
        let mut debug = DebugInfo::default();
        let dialog_state = request.dialog_state.clone();
        let query = request.query.as_str();

        // 1. farewells out of history.
        let mut history = request.history.clone();
        debug.farewells_dropped = drop_farewells(&mut history);

        // 2. rewriting.
        debug.history_for_rewrite = rewrite_input(query, &history);
        let mut rewritten = query.to_string();
        if let (Some(r), false) = (&self.rewriter, debug.history_for_rewrite.is_empty()) {
            match r.rewrite(&debug.history_for_rewrite) {
                Ok(q) if !q.trim().is_empty() => rewritten = q,
                Ok(_) => debug
                    .warnings
                    .push("rewriter returned an empty query; kept the original".into()),
                Err(e) => debug.warnings.push(format!("rewriter failed: {e}")),
            }
        }
        debug.query_rewritten = rewritten.clone();
        let rewritten = rewritten.as_str();
        let persona = is_persona_question(rewritten) || is_persona_question(query);
        debug.is_persona_question = persona;
        sw.lap("rewrite");

        let mut prepared = Prepared {
            outcome: Outcome::Generate {
                passages: Vec::new(),
                options: Map::new(),
            },
            debug: DebugInfo::default(),
            dialog_state,
            history,
            evidence_items: Vec::new(),
        };
        let reply = |mut p: Prepared,
                     mut debug: DebugInfo,
                     sw: Stopwatch,
                     response: String,
                     ty: ResponseType,
                     ev: Option<Evidence>| {
            debug.timings_ms = sw.finish();
            p.debug = debug;
            p.outcome = Outcome::Reply {
                response,
                response_type: ty,
                evidence: ev,
            };
            Ok(p)
        };

        // 3. query safety.
        if let Some(hit) = self.safety.check_query(rewritten) {
            let response = hit.response.clone();
            debug.safety = Some(hit);
            sw.lap("safety");
            return reply(prepared, debug, sw, response, ResponseType::Safety, None);
        }
        sw.lap("safety");

        // 4. rule control.
        let mut reform_search_query: Option<String> = None;
        let mut rule_knowledge: Option<String> = None;
        let mut invoke_skill: Option<String> = None;
        let skill_hanging = prepared
            .dialog_state
            .get("ds_hang_skill")
            .is_some_and(|v| !v.is_null());
        if cfg.use_hit_rule && !skill_hanging {
            if let Some(rule) = self.rules.first_hit(rewritten) {
                debug.hit_rule = Some(rule.as_hit());
                if !rule.response.is_empty() {
                    let response = pick(&rule.response, query).unwrap_or_default().to_string();
                    sw.lap("rule");
                    return reply(prepared, debug, sw, response, ResponseType::Rule, None);
                }
                if rule.invoke_skill {
                    invoke_skill = rule.reform_query.clone();
                } else {
                    reform_search_query = rule.reform_query.clone();
                }
                rule_knowledge = rule.append_knowledge.clone();
            }
        }
        sw.lap("rule");

        // 5. local FAQ.
        if cfg.use_faq {
            if let Some(faq) = &self.faq {
                match faq.retrieve(query, cfg.local_retrieval_max_faq) {
                    Ok(hits) => {
                        if let Some(best) = hits
                            .first()
                            .filter(|h| h.score >= cfg.local_retrieval_faq_q_threshold)
                        {
                            debug.faq = Some(best.clone());
                            if canonical_name(&best.answer).is_some() {
                                invoke_skill = invoke_skill.or_else(|| Some(best.answer.clone()));
                            } else {
                                let ev = Evidence {
                                    score: best.score,
                                    ..Evidence::new(best.answer.clone(), "faq")
                                };
                                let response = best.answer.clone();
                                sw.lap("faq");
                                return reply(
                                    prepared,
                                    debug,
                                    sw,
                                    response,
                                    ResponseType::Faq,
                                    Some(ev),
                                );
                            }
                        }
                        debug.faq_knowledge = hits
                            .into_iter()
                            .filter(|h| {
                                h.score >= cfg.local_retrieval_faq_q_threshold2
                                    && canonical_name(&h.answer).is_none()
                            })
                            .take(cfg.local_retrieval_max_faq)
                            .collect();
                    }
                    Err(e) => debug.warnings.push(format!("FAQ retrieval failed: {e}")),
                }
            }
        }
        sw.lap("faq");

        // 6. skills.
        debug.invoke_skill_name = invoke_skill.clone();
        let skill_reply = match &invoke_skill {
            Some(name) => {
                let r = self.skills.invoke(name, rewritten);
                if r.is_none() && canonical_name(name).is_none() {
                    debug.warnings.push(format!("unknown skill `{name}`"));
                }
                r
            }
            None if cfg.skills_direct_trigger => self.skills.trigger(rewritten),
            None => None,
        };
        if let Some(s) = skill_reply {
            let response = s.response.clone();
            debug.skill = Some(s);
            sw.lap("skill");
            return reply(prepared, debug, sw, response, ResponseType::Skill, None);
        }
        sw.lap("skill");

        // 7. learn to search.
        let decision = match decide(rewritten, self.classifier.as_deref()) {
            Ok(d) => d,
            Err(e) => {
                debug.warnings.push(format!("query classifier failed: {e}"));
                decide(rewritten, None).expect("rule-only decision cannot fail")
            }
        };
        debug.need_search = decision.need_search;
        debug.query_label = Some(decision.query_label);
        sw.lap("search_decision");

        // 8–9. knowledge providers.
        let max_len = cfg.core_chat_max_knowledge_length;
        let overlap = cfg.knowledge_chunk_overlap;
        let mut retrieved_chunks: Vec<String> = Vec::new();
        let mut evidence_items: Vec<Evidence> = Vec::new();
        for k in &request.knowledge {
            evidence_items.push(Evidence::new(k.clone(), "request"));
        }
        if let Some(k) = &rule_knowledge {
            evidence_items.push(Evidence::new(k.clone(), "rule"));
        }
        for h in &debug.faq_knowledge {
            evidence_items.push(Evidence::new(h.answer.clone(), "faq"));
        }
        let search_query = reform_search_query
            .clone()
            .unwrap_or_else(|| rewritten.to_string());
        for p in &self.providers {
            let kind = p.kind();
            let q = match kind {
                ProviderKind::Web if decision.need_search => search_query.clone(),
                ProviderKind::Graph if !persona => rewritten.to_string(),
                _ => continue,
            };
            if kind == ProviderKind::Web {
                debug.search_query = Some(q.clone());
            }
            // A fanning-out provider reports each member: results or failure.
            for (name, outcome) in p.search_parts(&q) {
                let results = match outcome {
                    Ok(r) => r,
                    Err(e) => {
                        debug
                            .warnings
                            .push(format!("provider `{name}` failed: {e}"));
                        continue;
                    }
                };
                debug.search_results.push(ProviderResults {
                    provider: name.clone(),
                    kind,
                    query: q.clone(),
                    results: results.clone(),
                });
                if kind == ProviderKind::Web && results.special_card {
                    if let Some(first) = results.snippets.first() {
                        let response = first.text.clone();
                        let ev = Some(Evidence {
                            score: 1.0,
                            ..Evidence::from_snippet(first, &name)
                        });
                        sw.lap("search");
                        return reply(prepared, debug, sw, response, ResponseType::Skill, ev);
                    }
                }
                match kind {
                    ProviderKind::Web => {
                        for s in &results.snippets {
                            retrieved_chunks.extend(split_chunks(&s.text, max_len, overlap));
                        }
                    }
                    ProviderKind::Graph => {
                        let joined = results
                            .snippets
                            .iter()
                            .map(|s| s.text.as_str())
                            .collect::<Vec<_>>()
                            .join(", ");
                        retrieved_chunks
                            .extend(split_chunks(&joined, max_len, overlap).into_iter().take(5));
                    }
                }
                for s in &results.snippets {
                    evidence_items.push(Evidence::from_snippet(s, &name));
                }
            }
        }
        sw.lap("search");

        // 10. context.
        let selection = select_context(
            &prepared.history,
            query,
            rewritten,
            persona,
            decision.allows_context(),
            cfg.core_chat_max_context_turns,
            cfg.core_chat_max_history_turns,
        );

        // 11. profiles.
        let bot_profile = join_non_empty([
            request.bot_profile.as_str(),
            request.role_instruction.as_deref().unwrap_or(""),
        ]);
        let profiles = build_profiles(
            &request.user_profile,
            &bot_profile,
            &prepared.history,
            persona,
        );

        // Knowledge: explicit items (chunked), rule knowledge, FAQ answers, retrieved.
        let mut knowledge: Vec<String> = request
            .knowledge
            .iter()
            .flat_map(|k| split_chunks(k, max_len, overlap))
            .collect();
        knowledge.extend(rule_knowledge.iter().cloned());
        knowledge.extend(debug.faq_knowledge.iter().map(|h| h.answer.clone()));
        knowledge.extend(retrieved_chunks);
        let user_chunks = split_chunks(&profiles.user_profile, max_len, overlap);
        let bot_chunks = split_chunks(&profiles.bot_profile, max_len, overlap);

        let mut passages = build_passages(
            &self.templates,
            &PassageInputs {
                selection: Some(&selection),
                knowledge: &knowledge,
                user_profile: &user_chunks,
                bot_profile: &bot_chunks,
            },
        );
        if cfg.model_type == ModelType::Plug {
            // PLUG's vocabulary spells the separator `[SEP]`.
            passages = passages
                .iter()
                .map(|p| p.replace("</s>", "[SEP]"))
                .collect();
        }
        if cfg.whitespace_mapping {
            passages = passages
                .iter()
                .map(|p| map_whitespace(p, cfg.model_type))
                .collect();
        }
        sw.lap("passages");

        // 12. no-repeat session and bad words.
        let history_texts: Vec<String> = prepared
            .history
            .iter()
            .map(|t| t.utterance.clone())
            .collect();
        let session = session_utterances(
            &history_texts,
            query,
            persona,
            cfg.core_chat_max_no_repeat_session,
        );
        let profile_text = [
            profiles.user_profile.as_str(),
            profiles.bot_profile.as_str(),
            profiles.dynamic_user_profile.as_str(),
            profiles.dynamic_bot_profile.as_str(),
        ]
        .join(";");
        let session = blank_persona_keywords(&session, &profile_text, self.keywords.as_ref());
        let bad_words = cfg.bad_words();

        // 13. generation options.
        let mut options = match serde_json::to_value(&cfg.core_chat_generate_config) {
            Ok(Value::Object(m)) => m,
            _ => Map::new(),
        };
        if persona {
            options.insert("min_length".into(), json!(cfg.persona_min_length));
        }
        if let Some(tok) = &self.tokenizer {
            let ids = bad_words_ids(
                &bad_words,
                &session,
                tok.as_ref(),
                cfg.core_chat_max_no_repeat_session_ngrams,
                cfg.bad_words_skip_first_token && cfg.model_type == ModelType::T5,
            );
            debug.bad_words_ids_count = Some(ids.len());
            if !ids.is_empty() {
                options.insert("bad_words_ids".into(), json!(ids));
            }
        }
        sw.lap("no_repeat");

        debug.selection = Some(selection);
        debug.profiles = Some(profiles);
        debug.knowledge_chunks = knowledge;
        debug.user_profile_chunks = user_chunks;
        debug.bot_profile_chunks = bot_chunks;
        debug.no_repeat_session = session;
        debug.bad_words = bad_words;
        debug.passages = passages.clone();
        debug.generation = Some(options.clone());
        debug.timings_ms = sw.finish();
        prepared.debug = debug;
        prepared.evidence_items = evidence_items;
        prepared.outcome = Outcome::Generate { passages, options };
        Ok(prepared)
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
