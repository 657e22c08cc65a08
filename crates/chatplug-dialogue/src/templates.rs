//! The unified instruction templates (reference §3). Two built-in sets: the wording
//! the released checkpoints are served with (`inference`, default) and the wording
//! of the public training loader (`training`). Training-data preparation and
//! inference must use the same set, so it is configuration.

use crate::config::TemplateConfig;
use crate::error::{DialogueError, Result};
use serde::{Deserialize, Serialize};

/// A built-in template set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TemplatePreset {
    /// `core_chat.py` / ModelScope wording (`得体、准确、友好的回复`).
    #[default]
    Inference,
    /// `t5_fidchat_instruction` loader wording (`得体、有信息量且生动的回复`).
    Training,
}

/// One template per passage kind; `{context}` plus the kind's own placeholder.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TemplateSet {
    pub context: String,
    pub history: String,
    pub knowledge: String,
    pub user_profile: String,
    pub bot_profile: String,
}

const INFERENCE_HEAD: &str =
    "假设我和你正在进行对话，请你给我得体、准确、友好的回复。以下是我们的对话内容。{context}";
const TRAINING_HEAD: &str =
    "假设我和你正在进行对话，请你给我得体、有信息量且生动的回复。以下是我们的对话内容。{context}";

impl TemplateSet {
    /// A built-in set.
    pub fn preset(preset: TemplatePreset) -> TemplateSet {
        let (head, tails) = match preset {
            TemplatePreset::Inference => (
                INFERENCE_HEAD,
                [
                    "#以下是在此之前我们的对话内容，可作为回复时的参考。{history}",
                    "#以下是和对话相关的知识，请你参考该知识进行回复。{knowledge}",
                    "#假设以下是你对我所了解的信息，请你参考该信息并避免你的回复和该信息矛盾，信息如下：{user_profile}",
                    "#假设以下是你的人物设定，请你参考该信息并避免你的回复和该信息矛盾，信息如下：{bot_profile}",
                ],
            ),
            TemplatePreset::Training => (
                TRAINING_HEAD,
                [
                    "#请注意，在此之前我们还进行了以下对话内容。{history}",
                    "#请注意，你同时也知道以下知识。{knowledge}",
                    "#请注意，你同时也知道我的信息，以下是你对我了解的内容。{user_profile}",
                    "#请注意，你同时也有一个人物设定，以下是你的人物设定。{bot_profile}",
                ],
            ),
        };
        TemplateSet {
            context: head.to_string(),
            history: format!("{head}{}", tails[0]),
            knowledge: format!("{head}{}", tails[1]),
            user_profile: format!("{head}{}", tails[2]),
            bot_profile: format!("{head}{}", tails[3]),
        }
    }

    /// The preset of `config` with its overrides, each checked for placeholders.
    pub fn from_config(config: &TemplateConfig) -> Result<TemplateSet> {
        let mut set = TemplateSet::preset(config.preset);
        let slots: [(&str, &Option<String>, &mut String); 5] = [
            ("context", &config.context, &mut set.context),
            ("history", &config.history, &mut set.history),
            ("knowledge", &config.knowledge, &mut set.knowledge),
            ("user_profile", &config.user_profile, &mut set.user_profile),
            ("bot_profile", &config.bot_profile, &mut set.bot_profile),
        ];
        for (kind, over, slot) in slots {
            if let Some(t) = over {
                check_template(kind, t)?;
                *slot = t.clone();
            }
        }
        Ok(set)
    }
}

fn check_template(kind: &str, template: &str) -> Result<()> {
    let key = format!("templates.{kind}");
    let names = placeholders(template).map_err(|m| DialogueError::config(&key, m))?;
    let mut allowed = vec!["context"];
    if kind != "context" {
        allowed.push(kind);
    }
    for n in &names {
        if !allowed.contains(&n.as_str()) {
            return Err(DialogueError::config(
                &key,
                format!(
                    "unknown placeholder `{{{n}}}` (allowed: {})",
                    allowed
                        .iter()
                        .map(|a| format!("{{{a}}}"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            ));
        }
    }
    for a in allowed {
        if !names.iter().any(|n| n == a) {
            return Err(DialogueError::config(
                &key,
                format!("missing placeholder `{{{a}}}`"),
            ));
        }
    }
    Ok(())
}

/// Placeholder names in `template` (`{{` / `}}` are literal braces).
fn placeholders(template: &str) -> std::result::Result<Vec<String>, String> {
    let mut out = Vec::new();
    let mut it = template.chars().peekable();
    while let Some(c) = it.next() {
        match c {
            '{' if it.peek() == Some(&'{') => {
                it.next();
            }
            '}' if it.peek() == Some(&'}') => {
                it.next();
            }
            '{' => {
                let mut name = String::new();
                loop {
                    match it.next() {
                        Some('}') => break,
                        Some(ch) => name.push(ch),
                        None => return Err("unclosed `{`".into()),
                    }
                }
                out.push(name);
            }
            '}' => return Err("single `}` (write `}}` for a literal brace)".into()),
            _ => {}
        }
    }
    Ok(out)
}

/// Fills `template` in one pass (Python `str.format` semantics for named fields):
/// inserted values are never re-scanned for placeholders.
pub fn fill(template: &str, values: &[(&str, &str)]) -> String {
    let mut out =
        String::with_capacity(template.len() + values.iter().map(|v| v.1.len()).sum::<usize>());
    let mut it = template.chars().peekable();
    while let Some(c) = it.next() {
        match c {
            '{' if it.peek() == Some(&'{') => {
                it.next();
                out.push('{');
            }
            '}' if it.peek() == Some(&'}') => {
                it.next();
                out.push('}');
            }
            '{' => {
                let mut name = String::new();
                for ch in it.by_ref() {
                    if ch == '}' {
                        break;
                    }
                    name.push(ch);
                }
                if let Some((_, v)) = values.iter().find(|(k, _)| *k == name) {
                    out.push_str(v);
                }
            }
            _ => out.push(c),
        }
    }
    out
}
