//! Bing Web Search API v7, read as the reference reads it: the web endpoint
//! (`/search`) and the news endpoint (`/news/search`) are each asked for `count` (5)
//! results with `textDecorations=false`, `textFormat=Raw`, `mkt`, `setLang`. From an
//! answer are taken, in this order: `webPages.value[].snippet`, news items as
//! `name\ndescription` (`news.value[]`, and the news endpoint's top-level `value[]`),
//! the computation card `expression\nvalue`, the time-zone card
//! `location\ntime` (`timeZone.primaryCityTime`) and the translation card
//! `originalText: …\ntranslatedText: …`.
//!
//! The subscription key comes from an environment variable (`BING_SEARCH_API`, as in
//! the reference), sent as `Ocp-Apim-Subscription-Key`.

use crate::http::{HttpClient, HttpRequest};
use chatplug_dialogue::{KnowledgeProvider, SearchResults, Snippet};
use serde::Deserialize;
use serde_json::Value;

/// `[search.bing]`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BingConfig {
    /// API root; `/search` and `/news/search` are appended.
    pub endpoint: String,
    /// Environment variable holding the subscription key.
    pub key_env: String,
    pub mkt: String,
    pub set_lang: String,
    pub count: u32,
    /// Also ask the news endpoint (a second provider, `<name>_news`).
    pub news: bool,
    /// A computation / time-zone / translation card is the reply (no generation).
    /// The reference keeps cards as ordinary knowledge.
    pub card_as_reply: bool,
}

impl Default for BingConfig {
    fn default() -> Self {
        BingConfig {
            endpoint: "https://api.bing.microsoft.com/v7.0".into(),
            key_env: "BING_SEARCH_API".into(),
            mkt: "zh-CN".into(),
            set_lang: "zh-hans".into(),
            count: 5,
            news: true,
            card_as_reply: false,
        }
    }
}

/// Which Bing endpoint a provider asks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BingEndpoint {
    Web,
    News,
}

pub struct Bing {
    name: String,
    url: String,
    key: String,
    config: BingConfig,
    client: HttpClient,
}

impl Bing {
    pub fn new(
        name: impl Into<String>,
        endpoint: BingEndpoint,
        key: String,
        config: BingConfig,
        client: HttpClient,
    ) -> Bing {
        let root = config.endpoint.trim_end_matches('/');
        let url = match endpoint {
            BingEndpoint::Web => format!("{root}/search"),
            BingEndpoint::News => format!("{root}/news/search"),
        };
        Bing {
            name: name.into(),
            url,
            key,
            config,
            client,
        }
    }
}

impl KnowledgeProvider for Bing {
    fn name(&self) -> &str {
        &self.name
    }
    fn search(&self, query: &str) -> Result<SearchResults, String> {
        let mut request = HttpRequest::get(&self.url);
        request.headers = vec![("Ocp-Apim-Subscription-Key".into(), self.key.clone())];
        request.query = vec![
            ("q".into(), query.into()),
            ("textDecorations".into(), "false".into()),
            ("textFormat".into(), "Raw".into()),
            ("mkt".into(), self.config.mkt.clone()),
            ("setLang".into(), self.config.set_lang.clone()),
            ("count".into(), self.config.count.to_string()),
        ];
        let data = self.client.send_json(&request).map_err(|e| e.to_string())?;
        parse(&data, &self.name, self.config.card_as_reply)
    }
}

fn text<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Value::as_str)
}

fn items(v: Option<&Value>) -> impl Iterator<Item = &Value> {
    v.and_then(Value::as_array).into_iter().flatten()
}

fn snippet(text: String, title: Option<&str>, url: Option<&str>, source: &str) -> Snippet {
    Snippet {
        title: title.map(str::to_string),
        url: url.map(str::to_string),
        source: Some(source.to_string()),
        ..Snippet::new(text)
    }
}

/// Reads one Bing answer. Items without the text the reference takes are skipped.
pub fn parse(data: &Value, source: &str, card_as_reply: bool) -> Result<SearchResults, String> {
    if !data.is_object() {
        return Err("Bing answer is not a JSON object".into());
    }
    let mut snippets = Vec::new();
    for page in items(data.pointer("/webPages/value")) {
        if let Some(s) = text(page, "snippet") {
            snippets.push(snippet(
                s.into(),
                text(page, "name"),
                text(page, "url"),
                source,
            ));
        }
    }
    // The web answer's news section, or the news endpoint's own list.
    let news = data.pointer("/news/value").or_else(|| {
        (text(data, "_type") == Some("News"))
            .then(|| data.get("value"))
            .flatten()
    });
    for item in items(news) {
        if let (Some(name), Some(desc)) = (text(item, "name"), text(item, "description")) {
            snippets.push(snippet(
                format!("{name}\n{desc}"),
                Some(name),
                text(item, "url"),
                source,
            ));
        }
    }
    let mut cards = Vec::new();
    if let Some(c) = data.get("computation") {
        if let (Some(e), Some(v)) = (text(c, "expression"), text(c, "value")) {
            cards.push(snippet(
                format!("{e}\n{v}"),
                Some("computation"),
                text(c, "id"),
                source,
            ));
        }
    }
    if let Some(t) = data.pointer("/timeZone/primaryCityTime") {
        if let (Some(l), Some(time)) = (text(t, "location"), text(t, "time")) {
            let url = "https://www.bing.com/api/v7/#TimeZone";
            cards.push(snippet(
                format!("{l}\n{time}"),
                Some("timeZone"),
                Some(url),
                source,
            ));
        }
    }
    if let Some(t) = data.get("translations") {
        if let (Some(o), Some(tr)) = (text(t, "originalText"), text(t, "translatedText")) {
            let s = format!("originalText: {o}\ntranslatedText: {tr}");
            cards.push(snippet(s, Some("translations"), text(t, "id"), source));
        }
    }
    if card_as_reply && !cards.is_empty() {
        cards.extend(snippets);
        return Ok(SearchResults {
            snippets: cards,
            special_card: true,
        });
    }
    snippets.extend(cards);
    Ok(SearchResults {
        snippets,
        special_card: false,
    })
}
