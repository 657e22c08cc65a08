//! Stages 7–9: learn-to-search, then the knowledge providers (web search, knowledge
//! base, knowledge-graph triples). A provider's special card answers the turn.

use super::{Answer, Flow, TurnState};
use crate::chunking::split_chunks;
use crate::pipeline::{ChatPipeline, ProviderResults};
use crate::request::{Evidence, ResponseType};
use crate::search::{decide, ProviderKind};
use std::ops::ControlFlow;

/// Stage 7: whether the turn needs search (rules, or the classifier hook when one is
/// attached; a failing classifier falls back to the rules with a warning).
pub(super) fn search_decision(p: &ChatPipeline, s: &mut TurnState<'_>) -> Flow {
    let decision = match decide(&s.rewritten, p.classifier.as_deref()) {
        Ok(d) => d,
        Err(e) => {
            s.debug
                .warnings
                .push(format!("query classifier failed: {e}"));
            decide(&s.rewritten, None).expect("rule-only decision cannot fail")
        }
    };
    s.debug.need_search = decision.need_search;
    s.debug.query_label = Some(decision.query_label);
    s.decision = Some(decision);
    ControlFlow::Continue(())
}

/// Stages 8–9: asks every provider whose kind applies; their snippets become
/// knowledge chunks (graph triples: joined, at most 5 chunks) and evidence items. A
/// failing provider leaves a warning and the turn goes on.
pub(super) fn providers(p: &ChatPipeline, s: &mut TurnState<'_>) -> Flow {
    let cfg = &p.config;
    let (max_len, overlap) = (
        cfg.core_chat_max_knowledge_length,
        cfg.knowledge_chunk_overlap,
    );
    for k in &s.request.knowledge {
        s.evidence_items.push(Evidence::new(k.clone(), "request"));
    }
    if let Some(k) = &s.rule_knowledge {
        s.evidence_items.push(Evidence::new(k.clone(), "rule"));
    }
    for h in &s.debug.faq_knowledge {
        s.evidence_items
            .push(Evidence::new(h.answer.clone(), "faq"));
    }
    let need_search = s.decision.is_some_and(|d| d.need_search);
    let search_query = s
        .reform_search_query
        .clone()
        .unwrap_or_else(|| s.rewritten.clone());
    for provider in &p.providers {
        let kind = provider.kind();
        let q = match kind {
            ProviderKind::Web if need_search => search_query.clone(),
            ProviderKind::Graph if !s.persona_question => s.rewritten.clone(),
            _ => continue,
        };
        if kind == ProviderKind::Web {
            s.debug.search_query = Some(q.clone());
        }
        // A fanning-out provider reports each member: results or failure.
        for (name, outcome) in provider.search_parts(&q) {
            let results = match outcome {
                Ok(r) => r,
                Err(e) => {
                    s.debug
                        .warnings
                        .push(format!("provider `{name}` failed: {e}"));
                    continue;
                }
            };
            s.debug.search_results.push(ProviderResults {
                provider: name.clone(),
                kind,
                query: q.clone(),
                results: results.clone(),
            });
            if kind == ProviderKind::Web && results.special_card {
                if let Some(first) = results.snippets.first() {
                    return ControlFlow::Break(Answer {
                        response: first.text.clone(),
                        response_type: ResponseType::Skill,
                        evidence: Some(Evidence {
                            score: 1.0,
                            ..Evidence::from_snippet(first, &name)
                        }),
                    });
                }
            }
            match kind {
                ProviderKind::Web => {
                    for snippet in &results.snippets {
                        s.retrieved_chunks
                            .extend(split_chunks(&snippet.text, max_len, overlap));
                    }
                }
                ProviderKind::Graph => {
                    let joined = results
                        .snippets
                        .iter()
                        .map(|s| s.text.as_str())
                        .collect::<Vec<_>>()
                        .join(", ");
                    s.retrieved_chunks
                        .extend(split_chunks(&joined, max_len, overlap).into_iter().take(5));
                }
            }
            for snippet in &results.snippets {
                s.evidence_items
                    .push(Evidence::from_snippet(snippet, &name));
            }
        }
    }
    ControlFlow::Continue(())
}
