//! A generic JSON-over-HTTP search provider for a company's own search service: a URL
//! template, a method, optional headers and body template, and field paths saying
//! where the answer keeps each result's text, title, address, score and id.

use crate::fields::{as_text, ListPath};
use crate::http::{HttpClient, HttpRequest, Method};
use chatplug_dialogue::{KnowledgeProvider, SearchResults, Snippet};
use percent_encoding::{utf8_percent_encode, NON_ALPHANUMERIC};
use serde::Deserialize;
use serde_json::Value;
use std::collections::BTreeMap;

/// One `[[search.generic]]` entry.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GenericConfig {
    /// The provider's name in `providers` and in the debug output.
    pub name: String,
    /// `{query}` is replaced by the URL-encoded query.
    pub url: String,
    #[serde(default = "default_method")]
    pub method: Method,
    /// Headers sent as written.
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// Headers whose values are read from environment variables (secrets):
    /// header name → variable name.
    #[serde(default)]
    pub header_env: BTreeMap<String, String>,
    /// Request body; `{query}` is replaced by the query as a JSON string literal
    /// (quotes included). Sent as `application/json` unless `headers` says otherwise.
    #[serde(default)]
    pub body: Option<String>,
    /// Path to each result's text, with `[]` after the result list.
    pub text_path: String,
    #[serde(default)]
    pub title_path: Option<String>,
    #[serde(default)]
    pub url_path: Option<String>,
    #[serde(default)]
    pub score_path: Option<String>,
    #[serde(default)]
    pub id_path: Option<String>,
    #[serde(default = "default_max_results")]
    pub max_results: usize,
}

fn default_method() -> Method {
    Method::Get
}
fn default_max_results() -> usize {
    5
}

/// The parsed field paths.
#[derive(Debug, Clone)]
pub struct Fields {
    text: ListPath,
    title: Option<ListPath>,
    url: Option<ListPath>,
    score: Option<ListPath>,
    id: Option<ListPath>,
}

impl Fields {
    /// Parses the paths; an error names the option (`title_path`) and the problem.
    pub fn parse(c: &GenericConfig) -> Result<Fields, (&'static str, String)> {
        let text = ListPath::parse(&c.text_path).map_err(|e| ("text_path", e))?;
        let within = |key: &'static str, p: &Option<String>| {
            p.as_deref()
                .map(|p| ListPath::parse_in(p, &text).map_err(|e| (key, e)))
                .transpose()
        };
        Ok(Fields {
            title: within("title_path", &c.title_path)?,
            url: within("url_path", &c.url_path)?,
            score: within("score_path", &c.score_path)?,
            id: within("id_path", &c.id_path)?,
            text,
        })
    }

    /// The snippets of one answer, at most `max`.
    pub fn snippets(&self, data: &Value, source: &str, max: usize) -> Result<Vec<Snippet>, String> {
        let field =
            |p: &Option<ListPath>, e: &Value| p.as_ref().and_then(|p| p.value(e)).and_then(as_text);
        let mut out = Vec::new();
        for e in self.text.elements(data)? {
            let Some(text) = self.text.value(e).and_then(as_text) else {
                continue;
            };
            out.push(Snippet {
                title: field(&self.title, e),
                url: field(&self.url, e),
                source: Some(source.to_string()),
                score: self
                    .score
                    .as_ref()
                    .and_then(|p| p.value(e))
                    .and_then(Value::as_f64),
                doc_id: field(&self.id, e),
                ..Snippet::new(text)
            });
            if out.len() == max {
                break;
            }
        }
        Ok(out)
    }
}

pub struct Generic {
    config: GenericConfig,
    /// Headers with the `header_env` values read.
    headers: Vec<(String, String)>,
    fields: Fields,
    client: HttpClient,
}

impl Generic {
    pub fn new(
        config: GenericConfig,
        headers: Vec<(String, String)>,
        fields: Fields,
        client: HttpClient,
    ) -> Generic {
        Generic {
            config,
            headers,
            fields,
            client,
        }
    }

    fn request(&self, query: &str) -> HttpRequest {
        let encoded = utf8_percent_encode(query, NON_ALPHANUMERIC).to_string();
        let mut request = HttpRequest::get(self.config.url.replace("{query}", &encoded));
        request.method = self.config.method;
        request.headers = self.headers.clone();
        if let Some(body) = &self.config.body {
            let literal = Value::String(query.to_string()).to_string();
            request.body = Some(body.replace("{query}", &literal));
            if !self
                .headers
                .iter()
                .any(|(k, _)| k.eq_ignore_ascii_case("content-type"))
            {
                request
                    .headers
                    .push(("Content-Type".into(), "application/json".into()));
            }
        }
        request
    }
}

impl KnowledgeProvider for Generic {
    fn name(&self) -> &str {
        &self.config.name
    }
    fn search(&self, query: &str) -> Result<SearchResults, String> {
        let data = self
            .client
            .send_json(&self.request(query))
            .map_err(|e| e.to_string())?;
        Ok(SearchResults {
            snippets: self
                .fields
                .snippets(&data, &self.config.name, self.config.max_results)?,
            special_card: false,
        })
    }
}
