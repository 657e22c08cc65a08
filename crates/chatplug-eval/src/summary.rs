//! One summary of a set of scored items, and the same per category. Every metric is
//! `None` (absent from the JSON, not 0) when no item has the data it needs: BLEU,
//! ROUGE-L and F1 need references, Knowledge-F1 knowledge, the answer hit rate
//! answers, the latency percentiles latencies, Distinct-n at least one n-gram.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::bleu::CorpusBleu;
use crate::data::Item;
use crate::distinct::Distinct;
use crate::f1::{char_f1, knowledge_f1};
use crate::percentile::percentile;
use crate::rouge::rouge_l;
use crate::text::eval_chars;

/// What scoring one item needs: its prediction and the item's reference data.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    pub category: Option<String>,
    pub prediction: String,
    pub reference: Option<String>,
    pub answers: Vec<String>,
    pub knowledge: Vec<String>,
    pub latency_ms: Option<f64>,
}

impl Record {
    pub fn new(item: &Item, prediction: impl Into<String>, latency_ms: Option<f64>) -> Record {
        Record {
            category: item.category.clone(),
            prediction: prediction.into(),
            reference: item.response.clone(),
            answers: item.answers.clone(),
            knowledge: item.knowledge.clone(),
            latency_ms,
        }
    }
}

/// The per-item metrics (`None` without the data they need).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct ItemScores {
    pub rouge_l: Option<f64>,
    pub f1: Option<f64>,
    pub knowledge_f1: Option<f64>,
    pub answer_hit: Option<bool>,
    pub reply_len: usize,
}

pub fn score_item(record: &Record) -> ItemScores {
    let prediction = eval_chars(&record.prediction);
    let reference = record.reference.as_deref().map(eval_chars);
    let knowledge: Vec<Vec<char>> = record.knowledge.iter().map(|k| eval_chars(k)).collect();
    let answer_hit = (!record.answers.is_empty()).then(|| {
        let prediction: String = prediction.iter().collect();
        record
            .answers
            .iter()
            .any(|a| prediction.contains(&eval_chars(a).into_iter().collect::<String>()))
    });
    ItemScores {
        rouge_l: reference.as_deref().map(|r| rouge_l(&prediction, r)),
        f1: reference.as_deref().map(|r| char_f1(&prediction, r)),
        knowledge_f1: knowledge_f1(&prediction, &knowledge),
        answer_hit,
        reply_len: prediction.len(),
    }
}

/// The metrics of a set of items; field names are the JSON keys.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Summary {
    pub items: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bleu1: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bleu2: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bleu4: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rouge_l: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub f1: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub distinct1: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub distinct2: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub knowledge_f1: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub answer_hit: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reply_len: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub latency_ms_p50: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub latency_ms_p90: Option<f64>,
}

/// The summary of all items plus one per category (items without a category are in
/// the overall summary only).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    #[serde(flatten)]
    pub overall: Summary,
    pub by_category: BTreeMap<String, Summary>,
}

pub fn report(records: &[Record]) -> Report {
    let mut groups: BTreeMap<String, Vec<&Record>> = BTreeMap::new();
    for record in records {
        if let Some(category) = &record.category {
            groups.entry(category.clone()).or_default().push(record);
        }
    }
    Report {
        overall: summarize(records.iter()),
        by_category: groups
            .into_iter()
            .map(|(category, group)| (category, summarize(group.into_iter())))
            .collect(),
    }
}

pub fn summarize<'a>(records: impl Iterator<Item = &'a Record>) -> Summary {
    let mut items = 0;
    let mut bleu = CorpusBleu::new();
    let mut has_reference = false;
    let (mut distinct1, mut distinct2) = (Distinct::new(1), Distinct::new(2));
    let (mut rouge, mut f1, mut kf1, mut hits, mut lengths) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let mut latencies = Vec::new();
    for record in records {
        items += 1;
        let prediction = eval_chars(&record.prediction);
        if let Some(reference) = &record.reference {
            has_reference = true;
            bleu.add(&prediction, &eval_chars(reference));
        }
        distinct1.add(&prediction);
        distinct2.add(&prediction);
        let scores = score_item(record);
        rouge.extend(scores.rouge_l);
        f1.extend(scores.f1);
        kf1.extend(scores.knowledge_f1);
        hits.extend(scores.answer_hit.map(|hit| if hit { 1.0 } else { 0.0 }));
        lengths.push(scores.reply_len as f64);
        latencies.extend(record.latency_ms);
    }
    Summary {
        items,
        bleu1: has_reference.then(|| bleu.score(1)),
        bleu2: has_reference.then(|| bleu.score(2)),
        bleu4: has_reference.then(|| bleu.score(4)),
        rouge_l: mean(&rouge),
        f1: mean(&f1),
        distinct1: distinct1.score(),
        distinct2: distinct2.score(),
        knowledge_f1: mean(&kf1),
        answer_hit: mean(&hits),
        reply_len: mean(&lengths),
        latency_ms_p50: percentile(&latencies, 50.0),
        latency_ms_p90: percentile(&latencies, 90.0),
    }
}

/// Arithmetic mean, summed in order; `None` for no values.
fn mean(values: &[f64]) -> Option<f64> {
    (!values.is_empty()).then(|| values.iter().sum::<f64>() / values.len() as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(prediction: &str) -> Record {
        Record {
            category: None,
            prediction: prediction.into(),
            reference: None,
            answers: Vec::new(),
            knowledge: Vec::new(),
            latency_ms: None,
        }
    }

    #[test]
    fn metrics_without_data_are_absent() {
        let summary = summarize([record("你好")].iter());
        // Serialized straight from the struct, so the keys keep the summary's order.
        let json = serde_json::to_string(&summary).unwrap();
        assert_eq!(
            json,
            r#"{"items":1,"distinct1":1.0,"distinct2":1.0,"reply_len":2.0}"#
        );
    }

    #[test]
    fn answer_hits_ignore_whitespace() {
        let mut r = record("答案是 北 京。");
        r.answers = vec!["北京".into(), "上海".into()];
        assert_eq!(score_item(&r).answer_hit, Some(true));
        r.answers = vec!["上海".into()];
        assert_eq!(score_item(&r).answer_hit, Some(false));
    }

    #[test]
    fn categories_get_their_own_summary() {
        let mut a = record("甲");
        a.category = Some("x".into());
        let b = record("乙乙");
        let report = report(&[a, b]);
        assert_eq!(report.overall.items, 2);
        assert_eq!(report.by_category["x"].items, 1);
        assert_eq!(report.by_category["x"].reply_len, Some(1.0));
        let json = serde_json::to_value(&report).unwrap();
        assert!(json["by_category"]["x"].get("by_category").is_none());
    }
}
