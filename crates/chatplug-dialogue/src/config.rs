//! Pipeline configuration: one TOML file (`config/chatplug.toml` documents every
//! option) whose keys are the option names of the reference's
//! `chatplug_3.7B_sftv2.6.0_instruction.hjson`, with those defaults, plus a few
//! options of this implementation. `CHATPLUG_<OPTION>` environment variables
//! override file values.

use crate::error::{DialogueError, Result};
use crate::templates::{TemplatePreset, TemplateSet};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// `early_stopping`: a bool or HF's `"never"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum EarlyStopping {
    Bool(bool),
    Never(NeverWord),
}

/// The word `never`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum NeverWord {
    Never,
}

/// `core_chat_generate_config`: HF `generate` options by their HF names. Options left
/// out are not sent (the generator's defaults apply). `bad_words_ids` is not an
/// option here: the pipeline builds it every turn.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct GenerateConfig {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub num_beams: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub num_return_sequences: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub temperature: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub do_sample: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub early_stopping: Option<EarlyStopping>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub top_k: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub top_p: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub repetition_penalty: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub length_penalty: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min_length: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_length: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub no_repeat_ngram_size: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_new_tokens: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min_new_tokens: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seed: Option<u64>,
    /// Not a reference option: the most copies in a row of one token or a pair of tokens
    /// a reply may hold. Unset here, the model directory's `generation_config.json` may set
    /// it (the demo model does); 0 turns it off even there.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_repeat_run: Option<u64>,
}

impl Default for GenerateConfig {
    /// The 3.7B config's `core_chat_generate_config`.
    fn default() -> Self {
        GenerateConfig {
            num_beams: Some(3),
            num_return_sequences: Some(1),
            temperature: Some(0.8),
            do_sample: Some(false),
            early_stopping: Some(EarlyStopping::Bool(true)),
            top_k: Some(50),
            top_p: Some(0.8),
            repetition_penalty: Some(1.2),
            length_penalty: Some(1.2),
            min_length: Some(10),
            max_length: Some(512),
            no_repeat_ngram_size: Some(6),
            max_new_tokens: None,
            min_new_tokens: None,
            seed: None,
            max_repeat_run: None,
        }
    }
}

/// Which tokenizer family the passages are written for (whitespace tokens, `</s>`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ModelType {
    /// mT5 (ChatPLUG-3.7B): `▁<extra_id_N>` whitespace tokens.
    T5,
    /// PLUG v2 (ChatPLUG-240M): `[unusedN]` whitespace tokens, `</s>` → `[SEP]`.
    Plug,
}

/// `[templates]`: a built-in set plus optional per-kind overrides.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TemplateConfig {
    pub preset: TemplatePreset,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub context: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub history: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub knowledge: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_profile: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bot_profile: Option<String>,
}

/// Options of the reference config that concern model loading or services this
/// crate does not run; they are accepted (so a translated hjson loads) and listed in
/// [`Config::ignored_keys`].
pub const IGNORED_REFERENCE_KEYS: &[&str] = &[
    "core_chat_half_precision",
    "core_chat_save_dir",
    "core_chat_checkpoint",
    "core_chat_pretrained_version",
    "core_chat_quantized",
    "core_chat_is_onnx",
    "core_chat_provider",
    "core_chat_allspark_gpu_speed_up",
    "core_chat_allspark_gen_cfg",
    "core_chat_min_data_frame_length",
    "use_dialogue_instruction",
    "dialogue_instruction_version",
    "utterance_rewriter_is_onnx",
    "utterance_rewriter_quantized",
    "utterance_rewriter_provider",
    "learn2search_time_classifier_path",
    "max_search_length",
    "openweb_is_test",
    "local_retrieval_user",
    "local_retrieval_password",
    "post_rerank_save_dir",
    "post_rerank_checkpoint",
    "persona_retriever_model",
    "open_persona_faq",
    "persona_faq_config",
    "safety_detect_use",
    "safety_detect_model_path",
    "safety_detect_mode",
];

/// The whole pipeline configuration. Field names are the TOML keys.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    // ----- options of chatplug_3.7B_sftv2.6.0_instruction.hjson -----
    /// Rule-control JSON file; empty: no rules.
    pub rule_control_path: String,
    /// Instruction-format passages (the only format supported).
    pub use_instruction: bool,
    /// Tokens per passage; passed to the tokenizer by the caller.
    pub core_chat_max_encoder_length: u64,
    pub core_chat_generate_config: GenerateConfig,
    pub core_chat_max_context_turns: usize,
    pub core_chat_max_history_turns: usize,
    pub core_chat_max_no_repeat_session: usize,
    pub core_chat_max_no_repeat_session_ngrams: usize,
    /// Knowledge / profile chunk length in characters.
    pub core_chat_max_knowledge_length: usize,
    /// `|`-separated words the model must not generate.
    pub core_chat_bad_words: String,
    /// Rewriter model directory; the caller attaches a rewriter hook when set.
    pub utterance_rewriter_save_dir: String,
    /// NER service for knowledge-graph search; the caller attaches a graph provider.
    pub unified_ner_url: String,
    pub unified_ner_threshold: f64,
    /// Query classifier model; the caller attaches a classifier hook when set.
    pub learn2search_query_classifier_path: String,
    /// Whether the caller attaches a web search provider.
    pub openweb_use: bool,
    /// Whether the caller attaches a knowledge-graph provider.
    pub openkg_use: bool,
    /// Local FAQ service; the caller attaches a FAQ retriever when set.
    pub local_retrieval_host: String,
    pub local_retrieval_tenant: String,
    /// A FAQ hit at or above this score answers directly.
    pub local_retrieval_faq_q_threshold: f64,
    /// FAQ hits at or above this score become knowledge.
    pub local_retrieval_faq_q_threshold2: f64,
    pub local_retrieval_max_faq: usize,
    /// Lexicon safety filter on query and reply.
    pub safety_filter_use: bool,
    /// Safety rules (rule-control format) on query and reply.
    pub use_safety_rule: bool,
    pub safety_rule_for_query_path: String,
    pub safety_rule_for_resp_path: String,

    // ----- reference PipelineConfig options not in the hjson -----
    pub use_hit_rule: bool,
    pub use_faq: bool,

    // ----- options of this implementation -----
    pub model_type: ModelType,
    /// Map `\n`, `\t`, two spaces to the model's whitespace tokens.
    pub whitespace_mapping: bool,
    /// Characters shared by consecutive chunks.
    pub knowledge_chunk_overlap: usize,
    /// `min_length` for persona questions.
    pub persona_min_length: u64,
    /// Persona questions ("你还记得我叫什么吗？") get the facts extracted from earlier
    /// turns even when the request has no user / bot profile. `false`: the
    /// reference's behaviour (those facts only join a non-empty request profile, so
    /// the bot cannot recall a name the user gave).
    pub persona_question_memory: bool,
    /// Minimum ROUGE-L precision for grounding evidence.
    pub grounding_threshold: f64,
    /// Drop the first token of every tokenized bad word / session utterance (the
    /// reference does so for T5: SentencePiece's leading `▁`; never for PLUG).
    pub bad_words_skip_first_token: bool,
    /// Skills answer when their own patterns match, without a rule invoking them
    /// (off by default: the reference only runs skills that a rule or FAQ names).
    pub skills_direct_trigger: bool,
    /// Enabled skills: `calendar`, `arithmetic`.
    pub skills: Vec<String>,
    /// Clock offset from UTC for the calendar skill (Beijing time: 480).
    pub skills_utc_offset_minutes: i32,
    /// Unsafe-term lexicon (one term a line, `#` comments), used when
    /// `safety_filter_use`.
    pub safety_lexicon_path: String,
    pub templates: TemplateConfig,
    /// Canned replies for unsafe queries / replies.
    pub unsafe_responses: Vec<String>,
    /// A farewell right after a dropped farewell becomes prefix + topic.
    pub topic_trigger_prefixes: Vec<String>,
    pub topic_trigger_responses: Vec<String>,
    /// Prefixes for a reply equal to the last turn.
    pub repeat_prefixes: Vec<String>,

    /// Reference keys that were present and ignored (not a TOML key).
    #[serde(skip)]
    pub ignored_keys: Vec<String>,
}

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| s.to_string()).collect()
}

impl Default for Config {
    fn default() -> Self {
        Config {
            rule_control_path: String::new(),
            use_instruction: true,
            core_chat_max_encoder_length: 380,
            core_chat_generate_config: GenerateConfig::default(),
            core_chat_max_context_turns: 2,
            core_chat_max_history_turns: 10,
            core_chat_max_no_repeat_session: 20,
            core_chat_max_no_repeat_session_ngrams: 6,
            core_chat_max_knowledge_length: 300,
            core_chat_bad_words: "不知道|什么工作|你告诉我一下|你可以说一下|你呢|？|?|吗|你呢|什么|怎么|怎样|咋|啥|如何|为什么|哪|几|谁|多少|多大|多高|是不是|有没有|是否|多久|可不可以|能不能|行不行|干嘛|蠢蛋|傻逼".into(),
            utterance_rewriter_save_dir: String::new(),
            unified_ner_url: String::new(),
            unified_ner_threshold: 0.85,
            learn2search_query_classifier_path: String::new(),
            openweb_use: false,
            openkg_use: false,
            local_retrieval_host: String::new(),
            local_retrieval_tenant: String::new(),
            local_retrieval_faq_q_threshold: 0.95,
            local_retrieval_faq_q_threshold2: 0.9,
            local_retrieval_max_faq: 3,
            safety_filter_use: false,
            use_safety_rule: false,
            safety_rule_for_query_path: String::new(),
            safety_rule_for_resp_path: String::new(),
            use_hit_rule: true,
            use_faq: true,
            model_type: ModelType::T5,
            whitespace_mapping: true,
            knowledge_chunk_overlap: 10,
            persona_min_length: 5,
            persona_question_memory: true,
            grounding_threshold: 0.7,
            bad_words_skip_first_token: true,
            skills_direct_trigger: false,
            skills: strings(&["calendar", "arithmetic"]),
            skills_utc_offset_minutes: 480,
            safety_lexicon_path: String::new(),
            templates: TemplateConfig::default(),
            unsafe_responses: strings(&[
                "你不要为难我，我只是个萌新而已",
                "我们聊聊其他话题吧~",
                "我们聊点别的吧",
                "怎么办，怎么才能让他换个话题",
                "嗯.. 内个...换个话题吧",
                "这题我没法答，换个话题吧",
                "这题不答，下一个",
                "我太难了，这一题不能答怎么办，得让TA换个话题",
            ]),
            topic_trigger_prefixes: strings(&[
                "我们换个话题聊聊怎样",
                "换个话题吧",
                "我们聊个别的",
                "聊个别的呗",
                "我们换个话题吧",
                "尴尬，我们换个别的聊吧",
                "好喜欢和你聊天，我们聊个别的吧",
            ]),
            topic_trigger_responses: strings(&[
                "你说我们为什么喜欢八卦",
                "不想上班怎么破",
                "最近余华很火啊，你知道他吗？",
                "如何成为饭局达人",
                "你的梦想是什么",
                "人生的意义是什么呢",
                "工作和生活真能平衡吗",
                "你喜欢吃宵夜吗",
                "你喜欢哪位古人",
                "火锅江湖你属哪一派",
                "我们聊聊三国演义怎样",
                "来聊聊篮球",
                "你知道红楼梦吗",
                "你喜欢看什么类型的电视剧啊",
            ]),
            repeat_prefixes: strings(&[
                "这个问题问过的哦。",
                "咦。那我再回答一下。",
                "大家这么喜欢问这个问题的吗。",
                "唉~我再说一次吧，",
                "其实刚说过了呢，",
                "那我再说一次哦~",
            ]),
            ignored_keys: Vec::new(),
        }
    }
}

/// Environment variable prefix for overrides.
pub const ENV_PREFIX: &str = "CHATPLUG_";

/// Tables of the configuration file that belong to other components (web search,
/// knowledge bases, the HTTP server, session storage). The dialogue options ignore them;
/// each component reads its own with [`component_table`].
pub const COMPONENT_TABLES: &[&str] = &["search", "knowledge", "server", "sessions"];

/// Top-level keys of the configuration file that the application reads, not the
/// dialogue options: `model`, the model directory the command-line tool loads, and
/// `precision`, the format its weights are held in.
pub const APPLICATION_KEYS: &[&str] = &["model", "precision"];

/// Reads the table `name` (one of [`COMPONENT_TABLES`]) of a configuration file's
/// text, with `CHATPLUG_<NAME>__<KEY>[__<SUBKEY>…]` overrides from `env` applied.
/// An override value is parsed as a TOML value and taken as a plain string when it
/// is not one. A missing table is an empty one.
pub fn component_table(
    text: &str,
    name: &str,
    env: impl IntoIterator<Item = (String, String)>,
) -> Result<toml::Table> {
    let mut doc: toml::Table = text.parse().map_err(|e: toml::de::Error| {
        DialogueError::config(toml_error_key(&e), e.message().to_string())
    })?;
    let mut table = match doc.remove(name) {
        None => toml::Table::new(),
        Some(toml::Value::Table(t)) => t,
        Some(_) => return Err(DialogueError::config(name, "must be a table")),
    };
    let prefix = format!("{ENV_PREFIX}{}__", name.to_ascii_uppercase());
    let mut vars: Vec<(String, String)> = env
        .into_iter()
        .filter(|(k, _)| k.starts_with(&prefix))
        .collect();
    vars.sort();
    for (var, raw) in vars {
        let path: Vec<String> = var[prefix.len()..]
            .to_ascii_lowercase()
            .split("__")
            .map(str::to_string)
            .collect();
        let value = parse_toml_value(&raw).unwrap_or(toml::Value::String(raw.clone()));
        let mut cursor = &mut table;
        for (i, key) in path.iter().enumerate() {
            if i + 1 == path.len() {
                cursor.insert(key.clone(), value);
                break;
            }
            let entry = cursor
                .entry(key.clone())
                .or_insert_with(|| toml::Value::Table(toml::Table::new()));
            cursor = match entry {
                toml::Value::Table(t) => t,
                _ => {
                    return Err(DialogueError::config(
                        format!("{name}.{}` (from environment variable `{var}", path[..=i].join(".")),
                        "must be a table",
                    ))
                }
            };
        }
    }
    Ok(table)
}

impl Config {
    /// Loads `path` (or the defaults when `None`), applies `CHATPLUG_*` environment
    /// overrides, validates, and resolves relative file paths against the file's
    /// folder.
    pub fn load(path: Option<&Path>) -> Result<Config> {
        let (text, base) = match path {
            Some(p) => {
                let text = std::fs::read_to_string(p).map_err(|source| DialogueError::Io {
                    path: p.to_path_buf(),
                    source,
                })?;
                (text, p.parent().map(Path::to_path_buf).unwrap_or_default())
            }
            None => (String::new(), PathBuf::from(".")),
        };
        Config::from_toml_with_env(&text, &base, std::env::vars())
    }

    /// Parses TOML text without environment overrides; `base` resolves relative paths.
    pub fn from_toml(text: &str, base: &Path) -> Result<Config> {
        Config::from_toml_with_env(text, base, std::iter::empty())
    }

    /// Parses TOML text, then applies the `CHATPLUG_*` pairs of `env` (name, value).
    /// Environment names that are not options are left alone (other tools share the
    /// prefix).
    pub fn from_toml_with_env(
        text: &str,
        base: &Path,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Config> {
        let mut table: toml::Table = text.parse().map_err(|e: toml::de::Error| {
            DialogueError::config(toml_error_key(&e), e.message().to_string())
        })?;
        for name in COMPONENT_TABLES.iter().chain(APPLICATION_KEYS) {
            table.remove(*name);
        }
        let mut ignored = Vec::new();
        for key in IGNORED_REFERENCE_KEYS {
            if table.remove(*key).is_some() {
                ignored.push(key.to_string());
            }
        }
        let env_keys = apply_env(&mut table, env)?;
        let mut config: Config = serde_path_to_error::deserialize(toml::Value::Table(table))
            .map_err(|e| {
                let key = e.path().to_string();
                let message = e.into_inner().to_string();
                let key = match env_keys.iter().find(|(k, _)| key.starts_with(k.as_str())) {
                    Some((k, var)) => format!("{k}` (from environment variable `{var}"),
                    None => key,
                };
                DialogueError::config(key, message)
            })?;
        config.ignored_keys = ignored;
        config.validate()?;
        config.resolve_paths(base);
        Ok(config)
    }

    /// The template set these options select.
    pub fn template_set(&self) -> Result<TemplateSet> {
        TemplateSet::from_config(&self.templates)
    }

    fn resolve_paths(&mut self, base: &Path) {
        for p in [
            &mut self.rule_control_path,
            &mut self.safety_rule_for_query_path,
            &mut self.safety_rule_for_resp_path,
            &mut self.safety_lexicon_path,
        ] {
            if !p.is_empty() && Path::new(p.as_str()).is_relative() {
                *p = base.join(p.as_str()).to_string_lossy().into_owned();
            }
        }
    }

    /// Checks values serde cannot: ranges and supported combinations.
    pub fn validate(&self) -> Result<()> {
        let err = |k: &str, m: &str| Err(DialogueError::config(k, m));
        if !self.use_instruction {
            return err(
                "use_instruction",
                "only instruction-format passages (true) are supported",
            );
        }
        if self.core_chat_max_context_turns == 0 {
            return err("core_chat_max_context_turns", "must be at least 1");
        }
        if self.core_chat_max_no_repeat_session_ngrams == 0 {
            return err(
                "core_chat_max_no_repeat_session_ngrams",
                "must be at least 1",
            );
        }
        if self.core_chat_max_knowledge_length == 0 {
            return err("core_chat_max_knowledge_length", "must be at least 1");
        }
        if self.knowledge_chunk_overlap >= self.core_chat_max_knowledge_length {
            return err(
                "knowledge_chunk_overlap",
                "must be smaller than core_chat_max_knowledge_length",
            );
        }
        if self.core_chat_max_encoder_length == 0 {
            return err("core_chat_max_encoder_length", "must be at least 1");
        }
        for (k, v) in [
            (
                "local_retrieval_faq_q_threshold",
                self.local_retrieval_faq_q_threshold,
            ),
            (
                "local_retrieval_faq_q_threshold2",
                self.local_retrieval_faq_q_threshold2,
            ),
            ("grounding_threshold", self.grounding_threshold),
            ("unified_ner_threshold", self.unified_ner_threshold),
        ] {
            if !(0.0..=1.0).contains(&v) {
                return err(k, "must be between 0 and 1");
            }
        }
        let g = &self.core_chat_generate_config;
        if g.num_beams == Some(0) {
            return err("core_chat_generate_config.num_beams", "must be at least 1");
        }
        if g.num_return_sequences == Some(0) {
            return err(
                "core_chat_generate_config.num_return_sequences",
                "must be at least 1",
            );
        }
        if matches!(g.temperature, Some(t) if t.is_nan() || t <= 0.0) {
            return err("core_chat_generate_config.temperature", "must be positive");
        }
        if matches!(g.top_p, Some(p) if !(p > 0.0 && p <= 1.0)) {
            return err("core_chat_generate_config.top_p", "must be in (0, 1]");
        }
        for (i, s) in self.skills.iter().enumerate() {
            if !crate::skills::SKILL_NAMES.contains(&s.as_str()) {
                return err(
                    &format!("skills[{i}]"),
                    &format!(
                        "unknown skill `{s}` (known: {})",
                        crate::skills::SKILL_NAMES.join(", ")
                    ),
                );
            }
        }
        if self.skills_utc_offset_minutes.abs() > 14 * 60 {
            return err("skills_utc_offset_minutes", "must be within ±840");
        }
        for (k, list) in [
            ("unsafe_responses", &self.unsafe_responses),
            ("topic_trigger_prefixes", &self.topic_trigger_prefixes),
            ("topic_trigger_responses", &self.topic_trigger_responses),
            ("repeat_prefixes", &self.repeat_prefixes),
        ] {
            if list.is_empty() {
                return err(k, "must not be empty");
            }
        }
        self.template_set().map(|_| ())
    }

    /// The bad-word list (`core_chat_bad_words` split on `|`, empty items dropped).
    pub fn bad_words(&self) -> Vec<String> {
        self.core_chat_bad_words
            .split('|')
            .filter(|w| !w.is_empty())
            .map(str::to_string)
            .collect()
    }
}

fn toml_error_key(e: &toml::de::Error) -> String {
    // toml reports a span, not a key; the message says where.
    match e.span() {
        Some(span) => format!("<toml syntax at bytes {}..{}>", span.start, span.end),
        None => "<toml syntax>".to_string(),
    }
}

/// Applies `CHATPLUG_<KEY>` (top-level key) and `CHATPLUG_<TABLE>__<KEY>` (a key of
/// `core_chat_generate_config` or `templates`) overrides. Values are read as TOML
/// values (`3`, `true`, `["a","b"]`) except for string options, whose value is
/// taken verbatim. Returns (key, variable) pairs for error messages.
fn apply_env(
    table: &mut toml::Table,
    env: impl IntoIterator<Item = (String, String)>,
) -> Result<Vec<(String, String)>> {
    let defaults = serde_json::to_value(Config::default()).expect("config serializes");
    let top: BTreeSet<String> = defaults
        .as_object()
        .map(|m| m.keys().cloned().collect())
        .unwrap_or_default();
    let mut applied = Vec::new();
    let mut vars: Vec<(String, String)> = env
        .into_iter()
        .filter(|(k, _)| k.starts_with(ENV_PREFIX))
        .collect();
    vars.sort();
    for (var, raw) in vars {
        let name = var[ENV_PREFIX.len()..].to_ascii_lowercase();
        let (section, key) = match name.split_once("__") {
            Some((s, k)) if s == "core_chat_generate_config" || s == "templates" => {
                (Some(s.to_string()), k.to_string())
            }
            _ => (None, name.clone()),
        };
        let string_typed = match &section {
            None => {
                if !top.contains(&key) {
                    continue;
                }
                matches!(defaults.get(&key), Some(Value::String(_)))
            }
            Some(s) if s == "templates" => true,
            Some(_) => false,
        };
        let value = if string_typed {
            toml::Value::String(raw.clone())
        } else {
            parse_toml_value(&raw).ok_or_else(|| {
                DialogueError::config(
                    format!(
                        "{}` (from environment variable `{var}",
                        section
                            .clone()
                            .map(|s| format!("{s}.{key}"))
                            .unwrap_or(key.clone())
                    ),
                    format!("`{raw}` is not a TOML value"),
                )
            })?
        };
        let path = match section {
            None => {
                table.insert(key.clone(), value);
                key
            }
            Some(s) => {
                let entry = table
                    .entry(s.clone())
                    .or_insert_with(|| toml::Value::Table(toml::Table::new()));
                match entry {
                    toml::Value::Table(t) => {
                        t.insert(key.clone(), value);
                    }
                    _ => return Err(DialogueError::config(s, "must be a table")),
                }
                format!("{s}.{key}")
            }
        };
        applied.push((path, var));
    }
    Ok(applied)
}

fn parse_toml_value(raw: &str) -> Option<toml::Value> {
    let doc: toml::Table = format!("v = {raw}").parse().ok()?;
    doc.get("v").cloned()
}
