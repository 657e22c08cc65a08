//! Multi-turn memory for `chatplug chat`: the turns so far (with rewritten
//! utterances), the dialog state skills hand back, and the static profiles; the
//! dynamic profiles are derived from the turns.

use crate::context::drop_farewells;
use crate::error::Result;
use crate::pipeline::{ChatPipeline, Generator};
use crate::profiles::dynamic_profiles;
use crate::request::{ChatRequest, ChatResult, Turn};
use serde::Serialize;
use serde_json::{Map, Value};

/// Static and dynamic profiles of a session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SessionProfiles {
    pub bot_profile: String,
    pub user_profile: String,
    pub role_instruction: Option<String>,
    /// Facts the user stated about themselves (first person, as said).
    pub dynamic_user_profile: String,
    /// Facts the bot stated about itself.
    pub dynamic_bot_profile: String,
}

/// One conversation.
#[derive(Debug, Clone, Default)]
pub struct Session {
    pub bot_profile: String,
    pub user_profile: String,
    pub role_instruction: Option<String>,
    /// Knowledge sent with every turn.
    pub knowledge: Vec<String>,
    turns: Vec<Turn>,
    dialog_state: Map<String, Value>,
}

impl Session {
    pub fn new() -> Session {
        Session::default()
    }

    pub fn with_profiles(
        bot_profile: impl Into<String>,
        user_profile: impl Into<String>,
    ) -> Session {
        Session {
            bot_profile: bot_profile.into(),
            user_profile: user_profile.into(),
            ..Session::default()
        }
    }

    /// The turns so far, oldest first.
    pub fn turns(&self) -> &[Turn] {
        &self.turns
    }

    pub fn dialog_state(&self) -> &Map<String, Value> {
        &self.dialog_state
    }

    /// The request for the next user `query`.
    pub fn request(&self, query: &str) -> ChatRequest {
        ChatRequest {
            query: query.to_string(),
            history: self.turns.clone(),
            knowledge: self.knowledge.clone(),
            bot_profile: self.bot_profile.clone(),
            user_profile: self.user_profile.clone(),
            role_instruction: self.role_instruction.clone(),
            dialog_state: self.dialog_state.clone(),
        }
    }

    /// Records a finished turn: the user's query (with its rewriting when it
    /// differs) and the bot's reply; keeps the returned dialog state.
    pub fn add_turn(&mut self, query: &str, result: &ChatResult) {
        let rewritten = &result.debug.query_rewritten;
        let mut user = Turn::user(query);
        if !rewritten.is_empty() && rewritten != query {
            user.rewritten = Some(rewritten.clone());
        }
        self.turns.push(user);
        self.turns.push(Turn::bot(result.response.clone()));
        self.dialog_state = result.dialog_state.clone();
    }

    /// Runs one turn through `pipeline` and records it.
    pub fn chat(
        &mut self,
        pipeline: &ChatPipeline,
        query: &str,
        generator: &dyn Generator,
    ) -> Result<ChatResult> {
        let result = pipeline.chat(&self.request(query), generator)?;
        self.add_turn(query, &result);
        Ok(result)
    }

    /// Forgets the turns and dialog state; static profiles stay.
    pub fn reset(&mut self) {
        self.turns.clear();
        self.dialog_state.clear();
    }

    /// Static profiles and the dynamic ones derived from the turns (farewell turns
    /// dropped, as the pipeline does).
    pub fn profiles(&self) -> SessionProfiles {
        let mut turns = self.turns.clone();
        drop_farewells(&mut turns);
        let (dynamic_user_profile, dynamic_bot_profile) = dynamic_profiles(&turns);
        SessionProfiles {
            bot_profile: self.bot_profile.clone(),
            user_profile: self.user_profile.clone(),
            role_instruction: self.role_instruction.clone(),
            dynamic_user_profile,
            dynamic_bot_profile,
        }
    }
}
