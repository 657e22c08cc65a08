//! Stages 3–6, the ones that usually answer the turn themselves: query safety, rule
//! control, the local FAQ and skills. Rule control and the FAQ may instead leave
//! knowledge, a search query or a skill name for later stages.

use super::{Answer, Flow, TurnState};
use crate::pipeline::ChatPipeline;
use crate::request::{Evidence, ResponseType};
use crate::skills::canonical_name;
use crate::text::pick;
use std::ops::ControlFlow;

fn answer(response: String, response_type: ResponseType, evidence: Option<Evidence>) -> Flow {
    ControlFlow::Break(Answer {
        response,
        response_type,
        evidence,
    })
}

/// Stage 3: an unsafe (rewritten) query gets a canned safe reply.
pub(super) fn query_safety(p: &ChatPipeline, s: &mut TurnState<'_>) -> Flow {
    match p.safety.check_query(&s.rewritten) {
        Some(hit) => {
            let response = hit.response.clone();
            s.debug.safety = Some(hit);
            answer(response, ResponseType::Safety, None)
        }
        None => ControlFlow::Continue(()),
    }
}

/// Stage 4: the first matching rule answers, or sets knowledge plus a search query
/// or a skill to invoke. Skipped while a multi-turn skill is hanging.
pub(super) fn rule_control(p: &ChatPipeline, s: &mut TurnState<'_>) -> Flow {
    let skill_hanging = s
        .dialog_state
        .get("ds_hang_skill")
        .is_some_and(|v| !v.is_null());
    if !p.config.use_hit_rule || skill_hanging {
        return ControlFlow::Continue(());
    }
    let Some(rule) = p.rules.first_hit(&s.rewritten) else {
        return ControlFlow::Continue(());
    };
    s.debug.hit_rule = Some(rule.as_hit());
    if !rule.response.is_empty() {
        let response = pick(&rule.response, &s.request.query)
            .unwrap_or_default()
            .to_string();
        return answer(response, ResponseType::Rule, None);
    }
    if rule.invoke_skill {
        s.invoke_skill = rule.reform_query.clone();
    } else {
        s.reform_search_query = rule.reform_query.clone();
    }
    s.rule_knowledge = rule.append_knowledge.clone();
    ControlFlow::Continue(())
}

/// Stage 5: a near-exact FAQ question answers (or names a skill); good matches become
/// knowledge. A failing retriever leaves a warning.
pub(super) fn faq(p: &ChatPipeline, s: &mut TurnState<'_>) -> Flow {
    let cfg = &p.config;
    let (true, Some(faq)) = (cfg.use_faq, &p.faq) else {
        return ControlFlow::Continue(());
    };
    let hits = match faq.retrieve(&s.request.query, cfg.local_retrieval_max_faq) {
        Ok(hits) => hits,
        Err(e) => {
            s.debug.warnings.push(format!("FAQ retrieval failed: {e}"));
            return ControlFlow::Continue(());
        }
    };
    if let Some(best) = hits
        .first()
        .filter(|h| h.score >= cfg.local_retrieval_faq_q_threshold)
    {
        s.debug.faq = Some(best.clone());
        if canonical_name(&best.answer).is_some() {
            s.invoke_skill = s.invoke_skill.take().or_else(|| Some(best.answer.clone()));
        } else {
            let evidence = Evidence {
                score: best.score,
                ..Evidence::new(best.answer.clone(), "faq")
            };
            return answer(best.answer.clone(), ResponseType::Faq, Some(evidence));
        }
    }
    s.debug.faq_knowledge = hits
        .into_iter()
        .filter(|h| {
            h.score >= cfg.local_retrieval_faq_q_threshold2 && canonical_name(&h.answer).is_none()
        })
        .take(cfg.local_retrieval_max_faq)
        .collect();
    ControlFlow::Continue(())
}

/// Stage 6: the skill a rule or the FAQ named, or (when configured) any skill whose
/// own patterns match.
pub(super) fn skills(p: &ChatPipeline, s: &mut TurnState<'_>) -> Flow {
    s.debug.invoke_skill_name = s.invoke_skill.clone();
    let reply = match &s.invoke_skill {
        Some(name) => {
            let r = p.skills.invoke(name, &s.rewritten);
            if r.is_none() && canonical_name(name).is_none() {
                s.debug.warnings.push(format!("unknown skill `{name}`"));
            }
            r
        }
        None if p.config.skills_direct_trigger => p.skills.trigger(&s.rewritten),
        None => None,
    };
    match reply {
        Some(skill) => {
            let response = skill.response.clone();
            s.debug.skill = Some(skill);
            answer(response, ResponseType::Skill, None)
        }
        None => ControlFlow::Continue(()),
    }
}
