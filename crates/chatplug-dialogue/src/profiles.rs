//! User and bot profiles: the request's static profiles plus "dynamic" profiles,
//! facts the speakers stated about themselves in earlier turns (long-term memory,
//! reference §4 stage 11).

use crate::request::{Role, Turn};
use crate::text::{char_len, is_question, join_non_empty};
use serde::Serialize;

const CLAUSE_SEPARATORS: &[char] = &['。', '！', '；', '？', '，', ',', ';', '.', '!', '?'];

/// First-person statements in `utterance`: clauses containing `我`, longer than two
/// characters, that are not questions.
pub fn extract_persona(utterance: &str) -> Vec<String> {
    utterance
        .trim()
        .split(CLAUSE_SEPARATORS)
        .filter(|c| c.contains('我') && char_len(c) > 2 && !is_question(c))
        .map(str::to_string)
        .collect()
}

/// Dynamic profiles from history: (user, bot), each `;`-joined. Every turn that is
/// not the bot's counts as the user's; rewritten text is used when present.
pub fn dynamic_profiles(history: &[Turn]) -> (String, String) {
    let collect = |bot: bool| -> String {
        history
            .iter()
            .filter(|t| (t.role == Role::Bot) == bot)
            .flat_map(|t| extract_persona(t.effective()))
            .collect::<Vec<_>>()
            .join(";")
    };
    (collect(false), collect(true))
}

/// The profile texts that become passages (before chunking).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Default)]
pub struct Profiles {
    /// User profile, with `我` turned into `你` (the bot's view of the user).
    pub user_profile: String,
    pub bot_profile: String,
    pub dynamic_user_profile: String,
    pub dynamic_bot_profile: String,
}

/// Builds the profiles for one turn as the reference does. For a persona question
/// each profile is the request profile plus the dynamic one, and only when the
/// request profile is non-empty; otherwise the user profile is the request's alone
/// and the bot profile is the request's plus the dynamic one. Empty parts add
/// nothing (the reference would leave a bare `;`).
pub fn build_profiles(
    request_user_profile: &str,
    request_bot_profile: &str,
    history: &[Turn],
    persona_question: bool,
) -> Profiles {
    build_profiles_with_memory(
        request_user_profile,
        request_bot_profile,
        history,
        persona_question,
        false,
    )
}

/// [`build_profiles`], except that with `persona_memory` a persona question gets the
/// dynamic profiles even when the request has no profile of its own: "你还记得我叫
/// 什么吗？" gets no context (it is a persona question), so the facts extracted from
/// earlier turns are the only way the model can know the name the user gave.
pub fn build_profiles_with_memory(
    request_user_profile: &str,
    request_bot_profile: &str,
    history: &[Turn],
    persona_question: bool,
    persona_memory: bool,
) -> Profiles {
    let (dyn_user, dyn_bot) = dynamic_profiles(history);
    let (user, bot) = if persona_question {
        let user = if request_user_profile.is_empty() && !persona_memory {
            String::new()
        } else {
            join_non_empty([request_user_profile, dyn_user.as_str()]).replace('我', "你")
        };
        let bot = if request_bot_profile.is_empty() && !persona_memory {
            String::new()
        } else {
            join_non_empty([request_bot_profile, dyn_bot.as_str()])
        };
        (user, bot)
    } else {
        (
            request_user_profile.replace('我', "你"),
            join_non_empty([request_bot_profile, dyn_bot.as_str()]),
        )
    };
    Profiles {
        user_profile: user,
        bot_profile: bot,
        dynamic_user_profile: dyn_user,
        dynamic_bot_profile: dyn_bot,
    }
}
