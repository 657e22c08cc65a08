//! `chatplug prompt` and `chatplug chat` end to end.

mod common;

use common::{chatplug, chatplug_with_env, root, stdout_json};
use serde_json::{json, Value};

/// The passage cases recorded from the reference pipeline that use the default templates
/// and no retrieved knowledge go through the binary unchanged (with the reference's
/// persona-question memory, `CHATPLUG_PERSONA_QUESTION_MEMORY=false`).
#[test]
fn prompt_prints_the_reference_passages() {
    let golden: Value =
        serde_json::from_str(&std::fs::read_to_string(root().join("fixtures/golden/prompt_golden.json")).unwrap())
            .unwrap();
    let mut checked = 0;
    for case in golden["cases"].as_array().unwrap() {
        let plain = case["templates"] == "inference" && case["retrieved"].as_array().is_some_and(|r| r.is_empty());
        if !plain {
            continue;
        }
        let reference = [("CHATPLUG_PERSONA_QUESTION_MEMORY", "false")];
        let reply = stdout_json(&chatplug_with_env(&["prompt"], &case["request"].to_string(), &reference));
        assert_eq!(reply["passages"], case["expected_passages"], "case {}", case["name"]);
        assert_eq!(reply["generation"]["min_length"], case["min_length"], "case {}", case["name"]);
        checked += 1;
    }
    assert!(checked >= 10, "only {checked} cases checked");
}

#[test]
fn prompt_turns_banned_ngrams_into_ids_with_a_tokenizer() {
    let request = json!({"query": "你好", "history": [{"role": "user", "utterance": "今天天气很好"}, {"role": "bot", "utterance": "是啊，阳光明媚"}]});
    let without = stdout_json(&chatplug(&["prompt"], &request.to_string()));
    assert!(without["generation"].get("bad_words_ids").is_none());
    let with = stdout_json(&chatplug(&["prompt", "--tokenizer", "fixtures/golden/tokenizer"], &request.to_string()));
    let ids = with["generation"]["bad_words_ids"].as_array().expect("bad_words_ids");
    assert!(!ids.is_empty());
}

#[test]
fn prompt_rejects_bad_requests_by_field() {
    for (request, needle) in [
        (json!({"history": []}), "query"),
        (json!({"query": 3}), "query"),
        (json!({"query": "hi", "history": [{"role": "system", "utterance": "x"}]}), "role"),
    ] {
        let out = chatplug(&["prompt"], &request.to_string());
        assert!(!out.status.success());
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(needle), "{stderr}");
    }
}

/// A whole conversation through standard input with a small model: replies, memory
/// (a dynamic user profile from an earlier turn), debug details and the commands.
#[test]
fn chat_holds_a_conversation() {
    let script = "你好\n我喜欢打篮球。\n#profile\n#debug\n我叫什么名字？\n#reset\n#profile\n#exit\n";
    let out = chatplug(
        &["chat", "--model", "fixtures/golden/models/relu_tied", "--bot-profile", "我叫小婉;我是学生", "--user-profile", "我是老师"],
        script,
    );
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(stdout.matches("机器人> ").count(), 3, "{stdout}");
    // #profile after the second turn shows the remembered fact.
    let first_profile = stdout.find("\"dynamic_user_profile\"").expect("profile shown");
    assert!(stdout[first_profile..].contains("我喜欢打篮球"), "{stdout}");
    // #debug shows the passages of the next turn, a persona question: the user profile
    // with the remembered fact, 我 → 你.
    assert!(stdout.contains("\"passages\""), "{stdout}");
    assert!(stdout.contains("信息如下：你是老师;你喜欢打篮球"), "{stdout}");
    assert!(stdout.contains("(conversation forgotten)"), "{stdout}");
    // After #reset the remembered fact is gone.
    let last_profile = stdout.rfind("\"dynamic_user_profile\"").unwrap();
    assert!(!stdout[last_profile..].contains("篮球"), "{stdout}");
}

/// The default configuration remembers: a name the user gave three turns earlier
/// reaches the passages of 你还记得我叫什么吗？ without a user profile.
#[test]
fn prompt_remembers_the_users_name_by_default() {
    let request = json!({"query": "你还记得我叫什么吗？", "history": [
        {"role": "user", "utterance": "我叫李雷"}, {"role": "bot", "utterance": "你好"},
        {"role": "user", "utterance": "今天很热"}, {"role": "bot", "utterance": "多喝水"},
        {"role": "user", "utterance": "好的"}, {"role": "bot", "utterance": "嗯嗯"}]});
    let reply = stdout_json(&chatplug(&["prompt"], &request.to_string()));
    assert!(reply["passages"][0].as_str().unwrap().ends_with("信息如下：你叫李雷"), "{reply}");
    let reference = [("CHATPLUG_PERSONA_QUESTION_MEMORY", "false")];
    let reply = stdout_json(&chatplug_with_env(&["prompt"], &request.to_string(), &reference));
    assert!(!reply["passages"].to_string().contains("李雷"), "{reply}");
}

/// A script is echoed turn by turn; `--knowledge` and `#knowledge` put passages into
/// the model's input, and `#knowledge` alone takes them out again.
#[test]
fn chat_scripts_take_knowledge() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("knowledge.txt");
    std::fs::write(&file, "青川湖在星河镇北边。\n\n").unwrap();
    let script = "#debug\n星河镇在哪里？\n#knowledge 蓝莓节在八月举办。\n蓝莓节是几月？\n#knowledge\n#persona 我叫林小满;我是面包师\n你是做什么的？\n";
    let file_arg = file.to_str().unwrap();
    let out = chatplug(
        &["chat", "--model", "fixtures/golden/models/relu_tied", "--knowledge", file_arg],
        script,
    );
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("你> 星河镇在哪里？"), "{stdout}");
    let turns: Vec<&str> = stdout.split("机器人> ").collect();
    assert_eq!(turns.len(), 4, "{stdout}");
    assert!(turns[1].contains("青川湖在星河镇北边"), "{stdout}");
    assert!(turns[2].contains("蓝莓节在八月举办") && !turns[2].contains("青川湖"), "{stdout}");
    assert!(!turns[3].contains("蓝莓节在八月举办。\""), "{stdout}");
    assert!(turns[3].contains("林小满"), "{stdout}");
}
