//! SearXNG's JSON API (`GET /search?q=…&format=json`; the instance must list `json`
//! under `search.formats`). Direct answers and infobox texts come first, then
//! `results[]` (`content`, `title`, `url`, `score`), at most `max_results` of them.

use crate::http::{HttpClient, HttpRequest};
use chatplug_dialogue::{KnowledgeProvider, SearchResults, Snippet};
use serde::Deserialize;
use serde_json::Value;

/// `[search.searxng]`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SearxngConfig {
    /// The instance's root URL.
    pub endpoint: String,
    /// `language` parameter; empty: the instance's default.
    pub language: String,
    /// `categories` parameter (`general`, `news`...); empty: the instance's default.
    pub categories: String,
    pub max_results: usize,
}

impl Default for SearxngConfig {
    fn default() -> Self {
        SearxngConfig {
            endpoint: "http://127.0.0.1:8888".into(),
            language: "zh-CN".into(),
            categories: String::new(),
            max_results: 5,
        }
    }
}

pub struct Searxng {
    name: String,
    config: SearxngConfig,
    client: HttpClient,
}

impl Searxng {
    pub fn new(name: impl Into<String>, config: SearxngConfig, client: HttpClient) -> Searxng {
        Searxng {
            name: name.into(),
            config,
            client,
        }
    }
}

impl KnowledgeProvider for Searxng {
    fn name(&self) -> &str {
        &self.name
    }
    fn search(&self, query: &str) -> Result<SearchResults, String> {
        let mut request = HttpRequest::get(format!(
            "{}/search",
            self.config.endpoint.trim_end_matches('/')
        ));
        request.query = vec![("q".into(), query.into()), ("format".into(), "json".into())];
        for (key, value) in [
            ("language", &self.config.language),
            ("categories", &self.config.categories),
        ] {
            if !value.is_empty() {
                request.query.push((key.into(), value.clone()));
            }
        }
        let data = self.client.send_json(&request).map_err(|e| e.to_string())?;
        parse(&data, &self.name, self.config.max_results)
    }
}

fn text(v: &Value, key: &str) -> Option<String> {
    v.get(key)
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

/// Reads one SearXNG answer.
pub fn parse(data: &Value, source: &str, max_results: usize) -> Result<SearchResults, String> {
    let results = data
        .get("results")
        .and_then(Value::as_array)
        .ok_or("SearXNG answer has no `results` list")?;
    let snippet = |text: String, title: Option<String>, url: Option<String>| Snippet {
        title,
        url,
        source: Some(source.to_string()),
        ..Snippet::new(text)
    };
    let mut snippets = Vec::new();
    // Answers are strings in older releases, `{answer, url}` objects in newer ones.
    for a in data
        .get("answers")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let (answer, url) = match a {
            Value::String(s) => (Some(s.trim().to_string()).filter(|s| !s.is_empty()), None),
            _ => (text(a, "answer"), text(a, "url")),
        };
        if let Some(answer) = answer {
            snippets.push(snippet(answer, None, url));
        }
    }
    for info in data
        .get("infoboxes")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        if let Some(content) = text(info, "content") {
            snippets.push(snippet(content, text(info, "infobox"), text(info, "id")));
        }
    }
    let with_content = results
        .iter()
        .filter_map(|r| text(r, "content").map(|c| (c, r)));
    for (content, r) in with_content.take(max_results) {
        let mut s = snippet(content, text(r, "title"), text(r, "url"));
        s.score = r.get("score").and_then(Value::as_f64);
        snippets.push(s);
    }
    Ok(SearchResults {
        snippets,
        special_card: false,
    })
}
