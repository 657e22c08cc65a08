//! Skills (reference §4 stage 6): small deterministic answerers that replace the
//! model for questions it cannot answer reliably (dates, arithmetic). They run when
//! a rule or FAQ answer invokes them by name, or, with `skills_direct_trigger`,
//! when their own patterns match the query.

pub mod arithmetic;
pub mod datetime;

use crate::config::Config;
use datetime::{CalendarSkill, Clock, SystemClock};
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// Skill names accepted in `skills`.
pub const SKILL_NAMES: &[&str] = &["calendar", "arithmetic"];

/// Maps a skill name as rules and FAQ answers write it (the reference's
/// `$$$查日期$$$` form or ours) to our name.
pub fn canonical_name(name: &str) -> Option<&'static str> {
    match name.trim() {
        "calendar" | "$$$查日期$$$" => Some("calendar"),
        "arithmetic" | "$$$计算$$$" => Some("arithmetic"),
        _ => None,
    }
}

/// A skill's answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SkillReply {
    pub name: String,
    pub response: String,
}

/// The enabled skills.
#[derive(Clone)]
pub struct Skills {
    calendar: Option<CalendarSkill>,
    arithmetic: bool,
}

impl Skills {
    /// Skills enabled by `config`, with the system clock at the configured offset.
    pub fn from_config(config: &Config) -> Skills {
        Skills::with_clock(
            config,
            Arc::new(SystemClock {
                offset_minutes: config.skills_utc_offset_minutes,
            }),
        )
    }

    /// Same with an injected clock (tests, replays).
    pub fn with_clock(config: &Config, clock: Arc<dyn Clock>) -> Skills {
        let on = |n: &str| config.skills.iter().any(|s| s == n);
        Skills {
            calendar: on("calendar")
                .then(|| CalendarSkill::new(clock, config.skills_utc_offset_minutes)),
            arithmetic: on("arithmetic"),
        }
    }

    /// Runs the named skill; `None` when it is unknown, disabled, or has no answer.
    pub fn invoke(&self, name: &str, query: &str) -> Option<SkillReply> {
        let name = canonical_name(name)?;
        let response = match name {
            "calendar" => self.calendar.as_ref()?.answer(query),
            "arithmetic" if self.arithmetic => arithmetic::answer(query),
            _ => None,
        }?;
        Some(SkillReply {
            name: name.to_string(),
            response,
        })
    }

    /// The first enabled skill whose patterns match `query`.
    pub fn trigger(&self, query: &str) -> Option<SkillReply> {
        SKILL_NAMES.iter().find_map(|n| self.invoke(n, query))
    }
}
