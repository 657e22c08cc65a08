//! Each provider against a real HTTP server on 127.0.0.1 serving recorded answers in
//! its format; the triple-file graph; `[search]` configuration errors.

mod common;

use chatplug_dialogue::{KnowledgeProvider, ProviderKind, SearchResults};
use chatplug_search::{providers_from_config, web_providers, SearchConfig, TripleGraph};
use common::{data, Reply, Server};
use std::collections::HashMap;
use std::path::Path;

fn env() -> HashMap<String, String> {
    HashMap::from([("BING_SEARCH_API".to_string(), "test-key-123".to_string())])
}

/// The fan-out a `[search]` table builds.
fn fanout(toml: &str) -> chatplug_search::FanOut {
    let config = SearchConfig::from_toml(toml, env()).unwrap();
    web_providers(&config, &env())
        .unwrap()
        .expect("providers listed")
}

fn texts(r: &SearchResults) -> Vec<&str> {
    r.snippets.iter().map(|s| s.text.as_str()).collect()
}

fn bing_server(web: &'static str) -> Server {
    Server::start(move |req, _| match req.path.as_str() {
        "/v7.0/search" => Reply::json(data(web)),
        "/v7.0/news/search" => Reply::json(data("bing_news.json")),
        _ => Reply::status(404, "{}"),
    })
}

#[test]
fn bing_web_and_news_as_the_reference_reads_them() {
    let server = bing_server("bing_web.json");
    let web = fanout(&format!(
        "[search]\nproviders = [\"bing\"]\n[search.bing]\nendpoint = \"{}/v7.0\"\n",
        server.url()
    ));
    let parts = web.search_parts("周杰伦是哪里人");
    let names: Vec<&str> = parts.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["bing", "bing_news"]);
    let web_results = parts[0].1.as_ref().unwrap();
    assert_eq!(
        texts(web_results),
        [
            "周杰伦（Jay Chou），1979年1月18日出生于台湾省新北市，祖籍福建省泉州市永春县，华语流行乐男歌手、音乐人、演员、导演。",
            "周杰伦的籍贯是福建省泉州市永春县，他出生并成长于台湾。",
            "周杰伦新专辑发布\n周杰伦于本周发布了新专辑，首日销量创下新纪录。",
        ],
        "web pages without a snippet are skipped; the web answer's news is `name\\ndescription`"
    );
    let first = &web_results.snippets[0];
    assert_eq!(
        first.url.as_deref(),
        Some("https://baike.example.cn/item/jay-chou")
    );
    assert_eq!(first.title.as_deref(), Some("周杰伦 - 百科"));
    assert_eq!(first.source.as_deref(), Some("bing"));
    assert!(!web_results.special_card);
    let news = parts[1].1.as_ref().unwrap();
    assert_eq!(
        texts(news),
        ["周杰伦巡回演唱会泉州站门票售罄\n周杰伦回到祖籍地泉州开唱，两场演唱会门票在开售十分钟内售罄。"]
    );
    assert_eq!(
        news.snippets[0].url.as_deref(),
        Some("https://news.example.cn/2026/11/jay-quanzhou")
    );

    // The request the reference sends.
    let reqs = server.requests();
    assert_eq!(reqs.len(), 2);
    for r in &reqs {
        assert_eq!(r.method, "GET");
        assert_eq!(r.headers["ocp-apim-subscription-key"], "test-key-123");
        assert_eq!(r.param("q"), Some("周杰伦是哪里人"));
        assert_eq!(r.param("count"), Some("5"));
        assert_eq!(r.param("mkt"), Some("zh-CN"));
        assert_eq!(r.param("setLang"), Some("zh-hans"));
        assert_eq!(r.param("textDecorations"), Some("false"));
        assert_eq!(r.param("textFormat"), Some("Raw"));
    }
}

#[test]
fn bing_cards_are_knowledge_by_default_and_the_reply_on_request() {
    for (file, card, url) in [
        (
            "bing_computation.json",
            "sqrt(144)+3^2\n21",
            "https://api.bing.microsoft.com/api/v7/#Computation",
        ),
        (
            "bing_timezone.json",
            "北京，中国\n2026-11-25T02:31:07.1440000Z",
            "https://www.bing.com/api/v7/#TimeZone",
        ),
        (
            "bing_translation.json",
            "originalText: 谢谢\ntranslatedText: thank you",
            "https://api.bing.microsoft.com/api/v7/#Translations",
        ),
    ] {
        let server = bing_server(file);
        let base = format!(
            "[search]\nproviders = [\"bing\"]\n[search.bing]\nnews = false\nendpoint = \"{}/v7.0\"\n",
            server.url()
        );
        let r = fanout(&base).search("q").unwrap();
        assert!(
            !r.special_card,
            "{file}: the reference never answers with a card"
        );
        let last = r.snippets.last().unwrap();
        assert_eq!(
            (last.text.as_str(), last.url.as_deref()),
            (card, Some(url)),
            "{file}"
        );

        let r = fanout(&format!("{base}card_as_reply = true\n"))
            .search("q")
            .unwrap();
        assert!(r.special_card, "{file}");
        assert_eq!(r.snippets[0].text, card, "{file}: the card comes first");
        assert_eq!(server.count("/v7.0/news/search"), 0, "news = false");
    }
}

#[test]
fn bing_empty_answer_is_no_snippets() {
    let server = bing_server("bing_empty.json");
    let web = fanout(&format!(
        "[search]\nproviders = [\"bing\"]\n[search.bing]\nnews = false\nendpoint = \"{}/v7.0\"\n",
        server.url()
    ));
    assert_eq!(
        web.search("qwxzvbnmlkjh").unwrap(),
        SearchResults::default()
    );
}

#[test]
fn searxng_answers_infoboxes_and_results() {
    let server = Server::start(|req, _| match (req.path.as_str(), req.param("q")) {
        ("/search", Some("西湖在哪里")) => Reply::json(data("searxng.json")),
        ("/search", _) => Reply::json(data("searxng_empty.json")),
        _ => Reply::status(404, "{}"),
    });
    let web = fanout(&format!(
        "[search]\nproviders = [\"searxng\"]\n[search.searxng]\nendpoint = \"{}/\"\nmax_results = 5\n",
        server.url()
    ));
    let r = web.search("西湖在哪里").unwrap();
    assert_eq!(
        texts(&r),
        [
            "西湖位于中国浙江省杭州市。",
            "西湖是杭州市区西面的淡水湖，2011年列入世界遗产名录。",
            "西湖位于浙江省杭州市西湖区龙井路1号，是中国主要的观赏性淡水湖泊之一。",
            "西湖十景包括苏堤春晓、曲院风荷、平湖秋月、断桥残雪等。",
        ],
        "results without content are skipped"
    );
    assert_eq!(r.snippets[1].title.as_deref(), Some("西湖"));
    assert_eq!(r.snippets[2].score, Some(4.0));
    assert_eq!(
        r.snippets[2].url.as_deref(),
        Some("https://baike.example.cn/item/west-lake")
    );
    let req = &server.requests()[0];
    assert_eq!(
        (req.param("format"), req.param("language")),
        (Some("json"), Some("zh-CN"))
    );
    assert!(req.param("categories").is_none());
    assert_eq!(web.search("qwxzvbnmlkjh").unwrap().snippets, vec![]);
}

const GENERIC_FIELDS: &str = "text_path = \"data.items[].summary\"\ntitle_path = \"data.items[].title\"\nurl_path = \"data.items[].link\"\nscore_path = \"data.items[].score\"\nid_path = \"data.items[].id\"\n";

#[test]
fn generic_get_with_url_template_and_field_paths() {
    let server = Server::start(|req, _| match req.path.as_str() {
        "/api/kb/search" => Reply::json(data("generic.json")),
        _ => Reply::status(404, "{}"),
    });
    let web = fanout(&format!(
        "[search]\nproviders = [\"corp\"]\n[[search.generic]]\nname = \"corp\"\nurl = \"{}/api/kb/search?query={{query}}&size=3\"\nheaders = {{ X-Tenant = \"hr\" }}\nheader_env = {{ X-Api-Key = \"BING_SEARCH_API\" }}\n{GENERIC_FIELDS}",
        server.url()
    ));
    let r = web.search("年假 有几天?&").unwrap();
    assert_eq!(
        texts(&r),
        [
            "员工入职满一年后每年享有5天带薪年假，满十年享有10天。",
            "请假需提前三个工作日在人事系统提交申请，由直属主管审批。"
        ]
    );
    let s = &r.snippets[0];
    assert_eq!(
        (
            s.title.as_deref(),
            s.url.as_deref(),
            s.score,
            s.doc_id.as_deref(),
            s.source.as_deref()
        ),
        (
            Some("年假规定"),
            Some("https://intranet.example.cn/hr/leave"),
            Some(12.5),
            Some("kb-001"),
            Some("corp")
        )
    );
    let req = &server.requests()[0];
    assert_eq!(
        req.param("query"),
        Some("年假 有几天?&"),
        "the query is URL-encoded into the template"
    );
    assert_eq!(req.param("size"), Some("3"));
    assert_eq!(req.headers["x-tenant"], "hr");
    assert_eq!(req.headers["x-api-key"], "test-key-123");
}

#[test]
fn generic_post_with_body_template() {
    let server = Server::start(|req, _| {
        let body: serde_json::Value = serde_json::from_str(&req.body).unwrap();
        assert_eq!(body["q"], "请假\"流程\"");
        Reply::json(data("generic.json"))
    });
    let web = fanout(&format!(
        "[search]\nproviders = [\"corp\"]\n[[search.generic]]\nname = \"corp\"\nmethod = \"POST\"\nurl = \"{}/search\"\nbody = '{{\"q\": {{query}}, \"top\": 5}}'\nmax_results = 1\n{GENERIC_FIELDS}",
        server.url()
    ));
    let r = web.search("请假\"流程\"").unwrap();
    assert_eq!(r.snippets.len(), 1, "max_results");
    let req = &server.requests()[0];
    assert_eq!(req.method, "POST");
    assert_eq!(req.headers["content-type"], "application/json");
}

#[test]
fn generic_answer_without_the_list_is_a_clear_failure() {
    let server = Server::start(|_, _| Reply::json(r#"{"code": 0, "data": {"items": {"a": 1}}}"#));
    let web = fanout(&format!(
        "[search]\nproviders = [\"corp\"]\n[[search.generic]]\nname = \"corp\"\nurl = \"{}/s?q={{query}}\"\n{GENERIC_FIELDS}",
        server.url()
    ));
    let e = web.search("x").unwrap_err();
    assert_eq!(e, "corp: `data.items` is an object, expected a list");
}

#[test]
fn graph_returns_triples_of_the_entities_in_the_query() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data");
    let g = TripleGraph::load("graph", &dir.join("triples.tsv"), 20).unwrap();
    assert_eq!(g.kind(), ProviderKind::Graph);
    assert_eq!(
        g.entities("周杰伦的七里香好听吗"),
        ["周杰伦", "七里香"],
        "longest match: not `杰伦`"
    );
    let r = g.search("周杰伦的七里香好听吗").unwrap();
    assert_eq!(
        texts(&r),
        [
            "周杰伦 出生地 新北市",
            "周杰伦 祖籍 福建省泉州市永春县",
            "周杰伦 代表作 七里香",
            "七里香 演唱者 周杰伦",
        ],
        "subject matches, then object matches, each triple once"
    );
    assert!(g.search("今天天气怎么样").unwrap().snippets.is_empty());
    let small = TripleGraph::load("graph", &dir.join("triples.tsv"), 2).unwrap();
    assert_eq!(small.search("周杰伦").unwrap().snippets.len(), 2);

    let j = TripleGraph::load("kg", &dir.join("triples.json"), 20).unwrap();
    assert_eq!(
        texts(&j.search("西湖美吗").unwrap()),
        ["西湖 位于 杭州", "苏堤 位于 西湖"]
    );
}

#[test]
fn bad_triple_files_name_file_and_line() {
    let dir = std::env::temp_dir().join(format!("chatplug-search-graph-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let tsv = dir.join("bad.tsv");
    std::fs::write(
        &tsv,
        "# comment\n周杰伦\t出生地\t新北市\n\n周杰伦\t代表作\n",
    )
    .unwrap();
    let e = TripleGraph::load("g", &tsv, 5).err().unwrap().to_string();
    assert_eq!(
        e,
        format!("{}:4: expected `subject<TAB>predicate<TAB>object`, got 2 non-empty tab-separated fields", tsv.display())
    );
    let json = dir.join("bad.json");
    std::fs::write(&json, "[\n  [\"a\", \"b\", \"c\"],\n  [\"a\", \"b\"]\n]").unwrap();
    let e = TripleGraph::load("g", &json, 5).err().unwrap().to_string();
    assert_eq!(
        e,
        format!("{}: entry 2: expected [subject, predicate, object] or {{\"subject\", \"predicate\", \"object\"}} (strings)", json.display())
    );
    std::fs::write(&json, "[[\"a\", \"b\", \"c\"],\n{").unwrap();
    let e = TripleGraph::load("g", &json, 5).err().unwrap().to_string();
    assert!(e.starts_with(&format!("{}:2: ", json.display())), "{e}");
    let e = TripleGraph::load("g", &dir.join("missing.tsv"), 5)
        .err()
        .unwrap()
        .to_string();
    assert!(
        e.starts_with("cannot read ") && e.contains("missing.tsv"),
        "{e}"
    );
}

#[test]
fn config_defaults_and_graph_from_the_file() {
    assert!(
        providers_from_config("", Path::new("."), env())
            .unwrap()
            .is_empty(),
        "offline by default"
    );
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests");
    let p = providers_from_config(
        "[search.graph]\ntriples = \"data/triples.tsv\"\n",
        &dir,
        env(),
    )
    .unwrap();
    assert_eq!(p.len(), 1);
    assert_eq!((p[0].name(), p[0].kind()), ("graph", ProviderKind::Graph));
    let c = SearchConfig::from_toml("", env()).unwrap();
    assert_eq!(c, SearchConfig::default());
    let c =
        SearchConfig::from_toml("", [("CHATPLUG_SEARCH__BING__COUNT".into(), "7".into())]).unwrap();
    assert_eq!(c.bing.count, 7, "environment overrides");
}

#[test]
fn config_errors_name_the_option() {
    let err = |toml: &str, env: HashMap<String, String>| {
        providers_from_config(toml, Path::new("."), env)
            .err()
            .expect(toml)
            .to_string()
    };
    let e = err("[search.bing]\ncont = 5\n", env());
    assert!(
        e.starts_with(
            "bad config value for `search.bing.cont`: unknown field `cont`, expected one of"
        ),
        "{e}"
    );
    assert!(!e.contains('\n'), "{e}");
    let e = err("[search]\nretries = \"two\"\n", env());
    assert!(
        e.starts_with("bad config value for `search.retries`: invalid type"),
        "{e}"
    );
    let e = err("[search]\nproviders = [\"bing\", \"google\"]\n", env());
    assert!(
        e.starts_with("bad config value for `search.providers[1]`: unknown provider `google`"),
        "{e}"
    );
    let e = err("[search]\nproviders = [\"bing\"]\n", HashMap::new());
    assert_eq!(
        e,
        "bad config value for `search.bing.key_env`: environment variable `BING_SEARCH_API` (the Bing subscription key) is not set"
    );
    let e = err(
        "[search]\nproviders = [\"c\"]\n[[search.generic]]\nname = \"c\"\nurl = \"http://x/\"\ntext_path = \"data.items.summary\"\n",
        env(),
    );
    assert!(e.starts_with("bad config value for `search.generic[0].text_path`: `data.items.summary` must contain exactly one `[]`"), "{e}");
    let e = err(
        "[search]\nproviders = [\"c\"]\n[[search.generic]]\nname = \"c\"\nurl = \"http://x/\"\ntext_path = \"data.items[].summary\"\ntitle_path = \"hits[].title\"\n",
        env(),
    );
    assert_eq!(e, "bad config value for `search.generic[0].title_path`: `hits[].title` must start with the text path's list `data.items[]`");
    let e = err("[search]\ntimeout_ms = 0\n", env());
    assert_eq!(
        e,
        "bad config value for `search.timeout_ms`: must be above 0"
    );
    let e = err("search = 3\n", env());
    assert!(e.contains("search") && e.contains("must be a table"), "{e}");
}

#[test]
fn documented_table_equals_the_code_defaults() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config/chatplug.toml");
    let text = std::fs::read_to_string(path).unwrap();
    assert_eq!(
        SearchConfig::from_toml(&text, env()).unwrap(),
        SearchConfig::default()
    );
    // The commented examples parse too.
    let uncommented: String = text
        .lines()
        .map(|l| {
            let example = |r: &&str| {
                r.trim_start_matches('[').starts_with("search")
                    || r.split_once(" = ")
                        .is_some_and(|(k, _)| k.chars().all(|c| c.is_ascii_lowercase() || c == '_'))
            };
            l.strip_prefix("# ").filter(example).unwrap_or(l)
        })
        .map(|l| format!("{l}\n"))
        .collect();
    let search_part = &uncommented[uncommented.find("[search]").unwrap()..];
    let c = SearchConfig::from_toml(search_part, env()).unwrap();
    assert_eq!(c.generic[0].text_path, "data.items[].summary");
    assert_eq!(c.graph.unwrap().max_triples, 20);
}
