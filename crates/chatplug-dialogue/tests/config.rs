//! Configuration: defaults = the 3.7B config, the shipped documented file, environment
//! overrides, errors that name the key.

#![allow(clippy::field_reassign_with_default)]

mod common;

use chatplug_dialogue::config::{EarlyStopping, IGNORED_REFERENCE_KEYS};
use chatplug_dialogue::*;
use std::path::Path;

fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn config_err(text: &str) -> String {
    Config::from_toml(text, Path::new("."))
        .unwrap_err()
        .to_string()
}

#[test]
fn defaults_are_the_3_7b_config() {
    let c = Config::default();
    assert_eq!(c.core_chat_max_encoder_length, 380);
    assert_eq!(c.core_chat_max_context_turns, 2);
    assert_eq!(c.core_chat_max_history_turns, 10);
    assert_eq!(c.core_chat_max_no_repeat_session, 20);
    assert_eq!(c.core_chat_max_no_repeat_session_ngrams, 6);
    assert_eq!(c.core_chat_max_knowledge_length, 300);
    assert_eq!(c.knowledge_chunk_overlap, 10);
    assert_eq!(c.persona_min_length, 5);
    assert!(c.use_instruction && !c.use_safety_rule && !c.safety_filter_use && !c.openweb_use);
    assert_eq!(c.local_retrieval_faq_q_threshold, 0.95);
    assert_eq!(c.local_retrieval_faq_q_threshold2, 0.9);
    assert_eq!(c.local_retrieval_max_faq, 3);
    let g = &c.core_chat_generate_config;
    assert_eq!(g.num_beams, Some(3));
    assert_eq!(g.num_return_sequences, Some(1));
    assert_eq!(g.temperature, Some(0.8));
    assert_eq!(g.do_sample, Some(false));
    assert_eq!(g.early_stopping, Some(EarlyStopping::Bool(true)));
    assert_eq!(g.top_k, Some(50));
    assert_eq!(g.top_p, Some(0.8));
    assert_eq!(g.repetition_penalty, Some(1.2));
    assert_eq!(g.length_penalty, Some(1.2));
    assert_eq!(g.min_length, Some(10));
    assert_eq!(g.max_length, Some(512));
    assert_eq!(g.no_repeat_ngram_size, Some(6));
    assert_eq!(c.bad_words().len(), 32);
    assert_eq!(c.bad_words()[0], "不知道");
}

#[test]
fn shipped_file_equals_the_defaults() {
    let path = common::repo_root().join("config/chatplug.toml");
    let c = Config::from_toml(
        &std::fs::read_to_string(&path).unwrap(),
        path.parent().unwrap(),
    )
    .unwrap();
    assert!(
        c.rule_control_path.ends_with("config/rule_control.json"),
        "{}",
        c.rule_control_path
    );
    let mut expected = Config::default();
    expected.rule_control_path = c.rule_control_path.clone();
    assert_eq!(c, expected);
    ChatPipeline::new(c).unwrap();
}

#[test]
fn shipped_file_names_every_reference_option() {
    let text = std::fs::read_to_string(common::repo_root().join("config/chatplug.toml")).unwrap();
    // The keys of chatplug_3.7B_sftv2.6.0_instruction.hjson.
    let hjson_keys = [
        "rule_control_path",
        "use_instruction",
        "core_chat_half_precision",
        "core_chat_save_dir",
        "core_chat_checkpoint",
        "core_chat_pretrained_version",
        "core_chat_quantized",
        "core_chat_is_onnx",
        "core_chat_provider",
        "core_chat_allspark_gpu_speed_up",
        "core_chat_allspark_gen_cfg",
        "core_chat_max_encoder_length",
        "core_chat_min_data_frame_length",
        "core_chat_generate_config",
        "use_dialogue_instruction",
        "dialogue_instruction_version",
        "core_chat_max_context_turns",
        "core_chat_max_history_turns",
        "core_chat_max_no_repeat_session",
        "core_chat_max_no_repeat_session_ngrams",
        "core_chat_max_knowledge_length",
        "core_chat_bad_words",
        "utterance_rewriter_save_dir",
        "utterance_rewriter_is_onnx",
        "utterance_rewriter_quantized",
        "utterance_rewriter_provider",
        "unified_ner_url",
        "unified_ner_threshold",
        "learn2search_query_classifier_path",
        "learn2search_time_classifier_path",
        "max_search_length",
        "openweb_use",
        "openweb_is_test",
        "openkg_use",
        "local_retrieval_host",
        "local_retrieval_user",
        "local_retrieval_password",
        "local_retrieval_tenant",
        "local_retrieval_faq_q_threshold",
        "local_retrieval_faq_q_threshold2",
        "local_retrieval_max_faq",
        "post_rerank_save_dir",
        "post_rerank_checkpoint",
        "open_persona_faq",
        "persona_faq_config",
        "safety_filter_use",
        "use_safety_rule",
        "safety_rule_for_query_path",
        "safety_rule_for_resp_path",
        "safety_detect_use",
        "safety_detect_model_path",
        "safety_detect_mode",
    ];
    let defaults = serde_json::to_value(Config::default()).unwrap();
    for k in hjson_keys {
        assert!(
            text.contains(k),
            "config/chatplug.toml does not mention {k}"
        );
        assert!(
            defaults.get(k).is_some() || IGNORED_REFERENCE_KEYS.contains(&k),
            "{k} is neither an option nor an ignored reference key"
        );
    }
}

#[test]
fn reference_keys_that_do_not_apply_are_accepted_and_listed() {
    let c = Config::from_toml(
        "core_chat_half_precision = true\ncore_chat_is_onnx = false\n",
        Path::new("."),
    )
    .unwrap();
    assert_eq!(
        c.ignored_keys,
        vec!["core_chat_half_precision", "core_chat_is_onnx"]
    );
}

#[test]
fn partial_generate_config_keeps_other_defaults() {
    let c = Config::from_toml(
        "[core_chat_generate_config]\nnum_beams = 1\nearly_stopping = \"never\"\n",
        Path::new("."),
    )
    .unwrap();
    assert_eq!(c.core_chat_generate_config.num_beams, Some(1));
    assert_eq!(c.core_chat_generate_config.max_length, Some(512));
    assert!(matches!(
        c.core_chat_generate_config.early_stopping,
        Some(EarlyStopping::Never(_))
    ));
}

#[test]
fn bad_values_name_the_key() {
    let e = config_err("core_chat_max_context_turns = \"two\"");
    assert!(
        e.contains("`core_chat_max_context_turns`") && e.contains("invalid type"),
        "{e}"
    );
    let e = config_err("[core_chat_generate_config]\nnum_beams = \"x\"");
    assert!(e.contains("`core_chat_generate_config.num_beams`"), "{e}");
    let e = config_err("[core_chat_generate_config]\nnum_beam = 3");
    assert!(e.contains("unknown field `num_beam`"), "{e}");
    let e = config_err("core_chat_max_contxt_turns = 3");
    assert!(
        e.contains("unknown field `core_chat_max_contxt_turns`"),
        "{e}"
    );
    let e = config_err("model_type = \"gpt\"");
    assert!(
        e.contains("`model_type`") && e.contains("unknown variant"),
        "{e}"
    );
    let e = config_err("[templates]\npreset = \"other\"");
    assert!(e.contains("`templates.preset`"), "{e}");
    let e = config_err("core_chat_max_context_turns = ");
    assert!(e.contains("bad config value"), "{e}");
}

#[test]
fn validation_names_the_key() {
    for (text, key) in [
        ("use_instruction = false", "use_instruction"),
        (
            "core_chat_max_context_turns = 0",
            "core_chat_max_context_turns",
        ),
        ("knowledge_chunk_overlap = 300", "knowledge_chunk_overlap"),
        (
            "core_chat_max_knowledge_length = 0",
            "core_chat_max_knowledge_length",
        ),
        ("grounding_threshold = 1.5", "grounding_threshold"),
        ("skills = [\"calendar\", \"weather\"]", "skills[1]"),
        (
            "[core_chat_generate_config]\nnum_beams = 0",
            "core_chat_generate_config.num_beams",
        ),
        (
            "[core_chat_generate_config]\ntop_p = 0.0",
            "core_chat_generate_config.top_p",
        ),
        ("repeat_prefixes = []", "repeat_prefixes"),
        (
            "[templates]\nknowledge = \"{context}只有上下文\"",
            "templates.knowledge",
        ),
        (
            "[templates]\ncontext = \"{context}{history}\"",
            "templates.context",
        ),
        (
            "[templates]\nhistory = \"{context}{history\"",
            "templates.history",
        ),
    ] {
        let e = config_err(text);
        assert!(e.contains(&format!("`{key}`")), "{text}: {e}");
    }
}

#[test]
fn environment_overrides() {
    let c = Config::from_toml_with_env(
        "core_chat_max_context_turns = 4",
        Path::new("."),
        env(&[
            ("CHATPLUG_CORE_CHAT_MAX_CONTEXT_TURNS", "3"),
            ("CHATPLUG_CORE_CHAT_BAD_WORDS", "不知道|傻"),
            ("CHATPLUG_SKILLS", "[\"calendar\"]"),
            ("CHATPLUG_CORE_CHAT_GENERATE_CONFIG__NUM_BEAMS", "1"),
            ("CHATPLUG_TEMPLATES__PRESET", "training"),
            ("CHATPLUG_USE_SAFETY_RULE", "false"),
            ("CHATPLUG_MODEL", "/some/dir"), // another tool's variable: left alone
            ("OTHER_CORE_CHAT_MAX_CONTEXT_TURNS", "9"),
        ]),
    )
    .unwrap();
    assert_eq!(c.core_chat_max_context_turns, 3);
    assert_eq!(c.bad_words(), vec!["不知道", "傻"]);
    assert_eq!(c.skills, vec!["calendar"]);
    assert_eq!(c.core_chat_generate_config.num_beams, Some(1));
    assert_eq!(c.core_chat_generate_config.min_length, Some(10));
    assert_eq!(c.templates.preset, TemplatePreset::Training);
}

#[test]
fn bad_environment_values_name_key_and_variable() {
    let e = Config::from_toml_with_env(
        "",
        Path::new("."),
        env(&[("CHATPLUG_CORE_CHAT_MAX_HISTORY_TURNS", "ten")]),
    )
    .unwrap_err()
    .to_string();
    assert!(
        e.contains("core_chat_max_history_turns")
            && e.contains("CHATPLUG_CORE_CHAT_MAX_HISTORY_TURNS"),
        "{e}"
    );
    let e = Config::from_toml_with_env(
        "",
        Path::new("."),
        env(&[("CHATPLUG_OPENWEB_USE", "\"yes\"")]),
    )
    .unwrap_err()
    .to_string();
    assert!(
        e.contains("openweb_use")
            && e.contains("CHATPLUG_OPENWEB_USE")
            && e.contains("invalid type"),
        "{e}"
    );
}

#[test]
fn relative_paths_resolve_against_the_file() {
    let c = Config::from_toml(
        "rule_control_path = \"rules.json\"\nsafety_lexicon_path = \"/abs/lex.txt\"",
        Path::new("/etc/chatplug"),
    )
    .unwrap();
    assert_eq!(c.rule_control_path, "/etc/chatplug/rules.json");
    assert_eq!(c.safety_lexicon_path, "/abs/lex.txt");
}

#[test]
fn load_reads_files_and_reports_missing_ones() {
    let e = Config::load(Some(Path::new("/nonexistent/chatplug.toml")))
        .unwrap_err()
        .to_string();
    assert!(e.contains("/nonexistent/chatplug.toml"), "{e}");
    let mut c = Config::default();
    c.rule_control_path = "/nonexistent/rules.json".into();
    let e = ChatPipeline::new(c).err().unwrap().to_string();
    assert!(e.contains("/nonexistent/rules.json"), "{e}");
    let mut c = Config::default();
    c.use_safety_rule = true;
    let e = ChatPipeline::new(c).err().unwrap().to_string();
    assert!(e.contains("safety_rule_for_query_path"), "{e}");
}

#[test]
fn component_tables_are_left_to_their_components() {
    let text = "model = \"models/x\"\ncore_chat_max_context_turns = 3\n[knowledge]\nbackend = \"embedded\"\n[knowledge.bing]\ntimeout_ms = 800\n[server]\nbind = \"127.0.0.1:1\"\n";
    let config = chatplug_dialogue::Config::from_toml(text, std::path::Path::new(".")).unwrap();
    assert_eq!(config.core_chat_max_context_turns, 3);

    let env = vec![
        ("CHATPLUG_KNOWLEDGE__BING__TIMEOUT_MS".to_string(), "1500".to_string()),
        ("CHATPLUG_KNOWLEDGE__BACKEND".to_string(), "postgres".to_string()),
        ("CHATPLUG_SERVER__BIND".to_string(), "0.0.0.0:9".to_string()),
    ];
    let knowledge = chatplug_dialogue::config::component_table(text, "knowledge", env.clone()).unwrap();
    assert_eq!(knowledge["backend"].as_str(), Some("postgres"));
    assert_eq!(knowledge["bing"]["timeout_ms"].as_integer(), Some(1500));
    let server = chatplug_dialogue::config::component_table(text, "server", env).unwrap();
    assert_eq!(server["bind"].as_str(), Some("0.0.0.0:9"));
    let sessions = chatplug_dialogue::config::component_table(text, "sessions", std::iter::empty()).unwrap();
    assert!(sessions.is_empty());
    let err = chatplug_dialogue::config::component_table("server = 1", "server", std::iter::empty()).unwrap_err();
    assert!(err.to_string().contains("server"), "{err}");
}
