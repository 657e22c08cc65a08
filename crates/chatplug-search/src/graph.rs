//! A knowledge-graph triple file as a provider of kind `Graph` (the reference's NER +
//! OpenKG stage for the embedded case). Entities are the subjects and objects of the
//! file; the query is scanned left to right for the longest entity at each position,
//! and the triples of the entities found (by subject first, then by object) are
//! returned as `s p o` texts, in query order.
//!
//! Files: `.json` — a list of `[s, p, o]` lists or `{"subject", "predicate",
//! "object"}` objects; anything else — TSV, one `s<TAB>p<TAB>o` a line (empty lines
//! and `#` comments skipped).

use crate::error::{Result, SearchError};
use chatplug_dialogue::{KnowledgeProvider, ProviderKind, SearchResults, Snippet};
use serde::Deserialize;
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

/// `[search.graph]`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GraphConfig {
    /// The triple file (relative to the configuration file's folder).
    pub triples: PathBuf,
    /// Most triples returned for one query.
    #[serde(default = "default_max_triples")]
    pub max_triples: usize,
}

fn default_max_triples() -> usize {
    20
}

#[derive(Deserialize)]
#[serde(untagged)]
enum JsonTriple {
    List([String; 3]),
    Object {
        subject: String,
        predicate: String,
        object: String,
    },
}

pub struct TripleGraph {
    name: String,
    triples: Vec<[String; 3]>,
    /// Entity → triples with it as subject, then as object.
    by_entity: HashMap<String, (Vec<usize>, Vec<usize>)>,
    /// Longest entity in characters (bounds the scan).
    longest: usize,
    max_triples: usize,
}

impl TripleGraph {
    pub fn load(name: impl Into<String>, path: &Path, max_triples: usize) -> Result<TripleGraph> {
        let text = std::fs::read_to_string(path).map_err(|source| SearchError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let bad = |line: usize, message: String| SearchError::Triples {
            path: path.to_path_buf(),
            line,
            message,
        };
        let triples = if path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("json"))
        {
            let list: Vec<serde_json::Value> = serde_json::from_str(&text)
                .map_err(|e| bad(e.line(), format!("{e} (expected a JSON list of triples)")))?;
            list.into_iter()
                .enumerate()
                .map(|(i, v)| match serde_json::from_value(v) {
                    Ok(JsonTriple::List(t)) => Ok(t),
                    Ok(JsonTriple::Object { subject, predicate, object }) => Ok([subject, predicate, object]),
                    Err(_) => Err(SearchError::TripleEntry {
                        path: path.to_path_buf(),
                        entry: i + 1,
                        message: "expected [subject, predicate, object] or {\"subject\", \"predicate\", \"object\"} (strings)".into(),
                    }),
                })
                .collect::<Result<_>>()?
        } else {
            parse_tsv(&text).map_err(|(line, m)| bad(line, m))?
        };
        Ok(TripleGraph::new(name, triples, max_triples))
    }

    pub fn new(
        name: impl Into<String>,
        triples: Vec<[String; 3]>,
        max_triples: usize,
    ) -> TripleGraph {
        let mut by_entity: HashMap<String, (Vec<usize>, Vec<usize>)> = HashMap::new();
        for (i, [s, _, o]) in triples.iter().enumerate() {
            by_entity.entry(s.clone()).or_default().0.push(i);
            by_entity.entry(o.clone()).or_default().1.push(i);
        }
        by_entity.retain(|k, _| !k.is_empty());
        let longest = by_entity
            .keys()
            .map(|k| k.chars().count())
            .max()
            .unwrap_or(0);
        TripleGraph {
            name: name.into(),
            triples,
            by_entity,
            longest,
            max_triples,
        }
    }

    /// Entities in `query`, leftmost-longest, without overlaps.
    pub fn entities(&self, query: &str) -> Vec<&str> {
        let chars: Vec<(usize, char)> = query.char_indices().collect();
        let mut found = Vec::new();
        let mut i = 0;
        while i < chars.len() {
            let start = chars[i].0;
            let longest = self.longest.min(chars.len() - i);
            let hit = (1..=longest).rev().find_map(|n| {
                let end = chars.get(i + n).map_or(query.len(), |c| c.0);
                self.by_entity
                    .get_key_value(&query[start..end])
                    .map(|(k, _)| (k, n))
            });
            match hit {
                Some((entity, n)) => {
                    found.push(entity.as_str());
                    i += n;
                }
                None => i += 1,
            }
        }
        found
    }
}

fn parse_tsv(text: &str) -> std::result::Result<Vec<[String; 3]>, (usize, String)> {
    let mut triples = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim_end_matches('\r');
        if line.trim().is_empty() || line.starts_with('#') {
            continue;
        }
        let fields: Vec<&str> = line.split('\t').map(str::trim).collect();
        match fields.as_slice() {
            [s, p, o] if !s.is_empty() && !p.is_empty() && !o.is_empty() => {
                triples.push([s.to_string(), p.to_string(), o.to_string()])
            }
            _ => {
                return Err((
                    n + 1,
                    format!(
                        "expected `subject<TAB>predicate<TAB>object`, got {} non-empty tab-separated fields",
                        fields.iter().filter(|f| !f.is_empty()).count()
                    ),
                ))
            }
        }
    }
    Ok(triples)
}

impl KnowledgeProvider for TripleGraph {
    fn name(&self) -> &str {
        &self.name
    }
    fn kind(&self) -> ProviderKind {
        ProviderKind::Graph
    }
    fn search(&self, query: &str) -> std::result::Result<SearchResults, String> {
        let entities = self.entities(query);
        let as_subject = entities.iter().flat_map(|e| &self.by_entity[*e].0);
        let as_object = entities.iter().flat_map(|e| &self.by_entity[*e].1);
        let mut seen = HashSet::new();
        let snippets = as_subject
            .chain(as_object)
            .filter(|i| seen.insert(**i))
            .take(self.max_triples)
            .map(|&i| {
                let [s, p, o] = &self.triples[i];
                Snippet {
                    title: Some(s.clone()),
                    source: Some(self.name.clone()),
                    ..Snippet::new(format!("{s} {p} {o}"))
                }
            })
            .collect();
        Ok(SearchResults {
            snippets,
            special_card: false,
        })
    }
}
