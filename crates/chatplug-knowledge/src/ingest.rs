//! Reading documents from JSONL, plain-text and Markdown files. Every file is read
//! and checked whole before anything is indexed, so a bad line never leaves a
//! half-imported knowledge base behind.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::error::{KbError, Result};

/// A titled stretch of a document (a Markdown section, or the whole document).
#[derive(Debug, Clone, PartialEq)]
pub struct Section {
    pub title: Option<String>,
    pub text: String,
}

/// One source document; its passages all report `id`.
#[derive(Debug, Clone, PartialEq)]
pub struct Document {
    pub id: String,
    pub sections: Vec<Section>,
}

impl Document {
    pub fn new(id: impl Into<String>, title: Option<String>, text: impl Into<String>) -> Self {
        Document {
            id: id.into(),
            sections: vec![Section { title, text: text.into() }],
        }
    }
}

/// Where a record came from, for error messages.
#[derive(Debug, Clone)]
pub(crate) struct Origin {
    pub file: PathBuf,
    pub line: Option<usize>,
}

impl std::fmt::Display for Origin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.file.display())?;
        if let Some(l) = self.line {
            write!(f, ":{l}")?;
        }
        Ok(())
    }
}

/// An id as written in JSONL: a string or an integer.
#[derive(Deserialize)]
#[serde(untagged)]
pub(crate) enum RawId {
    Text(String),
    Number(i64),
}

impl RawId {
    pub(crate) fn into_string(self) -> String {
        match self {
            RawId::Text(s) => s,
            RawId::Number(n) => n.to_string(),
        }
    }
}

#[derive(Deserialize)]
struct JsonlDoc {
    id: RawId,
    text: String,
    #[serde(default)]
    title: Option<String>,
}

/// Non-empty lines of a UTF-8 file with their 1-based numbers.
pub(crate) fn read_lines(path: &Path) -> Result<Vec<(usize, String)>> {
    let bytes = std::fs::read(path).map_err(|source| KbError::Io { path: path.into(), source })?;
    let mut out = Vec::new();
    for (i, raw) in bytes.split(|b| *b == b'\n').enumerate() {
        let line = std::str::from_utf8(raw)
            .map_err(|e| KbError::input(path, Some(i + 1), format!("not UTF-8 text ({e})")))?;
        let line = line.trim_start_matches('\u{feff}').trim();
        if !line.is_empty() {
            out.push((i + 1, line.to_string()));
        }
    }
    Ok(out)
}

/// Parses one JSON line into `T`, with the line's place in the error.
pub(crate) fn parse_json_line<T: serde::de::DeserializeOwned>(
    path: &Path,
    line_no: usize,
    line: &str,
) -> Result<T> {
    serde_json::from_str(line).map_err(|e| {
        KbError::input(path, Some(line_no), format!("{} (column {})", strip_position(&e), e.column()))
    })
}

/// serde_json's message without its trailing " at line L column C" (we add our own).
fn strip_position(e: &serde_json::Error) -> String {
    let s = e.to_string();
    match s.rfind(" at line ") {
        Some(i) => s[..i].to_string(),
        None => s,
    }
}

fn read_jsonl(path: &Path) -> Result<Vec<(Document, Origin)>> {
    let mut out = Vec::new();
    for (line_no, line) in read_lines(path)? {
        let d: JsonlDoc = parse_json_line(path, line_no, &line)?;
        let id = d.id.into_string();
        if id.trim().is_empty() {
            return Err(KbError::input(path, Some(line_no), "field `id` is empty"));
        }
        if d.text.trim().is_empty() {
            return Err(KbError::input(path, Some(line_no), format!("document `{id}`: field `text` is empty")));
        }
        let title = d.title.filter(|t| !t.trim().is_empty());
        out.push((
            Document::new(id, title, d.text),
            Origin { file: path.into(), line: Some(line_no) },
        ));
    }
    Ok(out)
}

fn read_text(path: &Path) -> Result<String> {
    let bytes = std::fs::read(path).map_err(|source| KbError::Io { path: path.into(), source })?;
    let text = String::from_utf8(bytes).map_err(|e| {
        let line = 1 + e.as_bytes()[..e.utf8_error().valid_up_to()].iter().filter(|b| **b == b'\n').count();
        KbError::input(path, Some(line), "not UTF-8 text")
    })?;
    if text.trim().is_empty() {
        return Err(KbError::input(path, None, "the file has no text"));
    }
    Ok(text)
}

fn file_id(path: &Path) -> Result<String> {
    path.file_stem()
        .and_then(|s| s.to_str())
        .map(str::to_string)
        .ok_or_else(|| KbError::input(path, None, "cannot derive a document id from the file name"))
}

/// Markdown sections: each heading starts a section titled with it (front text
/// before the first heading has no title).
fn markdown_sections(text: &str) -> Vec<Section> {
    let mut sections = Vec::new();
    let mut title: Option<String> = None;
    let mut body = String::new();
    for line in text.lines() {
        let trimmed = line.trim_start();
        let level = trimmed.chars().take_while(|c| *c == '#').count();
        if (1..=6).contains(&level) && trimmed[level..].starts_with(' ') {
            if !body.trim().is_empty() {
                sections.push(Section { title: title.clone(), text: body.trim().to_string() });
            }
            body.clear();
            title = Some(trimmed[level..].trim().trim_end_matches('#').trim().to_string());
        } else {
            body.push_str(line);
            body.push('\n');
        }
    }
    if !body.trim().is_empty() {
        sections.push(Section { title, text: body.trim().to_string() });
    }
    sections
}

fn read_file(path: &Path) -> Result<Vec<(Document, Origin)>> {
    let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("").to_ascii_lowercase();
    let origin = Origin { file: path.into(), line: None };
    match ext.as_str() {
        "jsonl" | "ndjson" => read_jsonl(path),
        "txt" | "text" => {
            let text = read_text(path)?;
            Ok(vec![(Document::new(file_id(path)?, None, text.trim()), origin)])
        }
        "md" | "markdown" => {
            let text = read_text(path)?;
            let sections = markdown_sections(&text);
            if sections.is_empty() {
                return Err(KbError::input(path, None, "the file has only headings, no text"));
            }
            Ok(vec![(Document { id: file_id(path)?, sections }, origin)])
        }
        _ => Err(KbError::input(
            path,
            None,
            "unsupported file type (expected .jsonl, .txt or .md)",
        )),
    }
}

/// Reads every file; fails on the first malformed one, or on an id that two
/// records share.
pub fn read_documents(paths: &[PathBuf]) -> Result<Vec<Document>> {
    let mut seen: HashMap<String, Origin> = HashMap::new();
    let mut docs = Vec::new();
    for path in paths {
        for (doc, origin) in read_file(path)? {
            if let Some(first) = seen.get(&doc.id) {
                return Err(KbError::input(
                    &origin.file,
                    origin.line,
                    format!("duplicate document id `{}` (first at {first})", doc.id),
                ));
            }
            seen.insert(doc.id.clone(), origin);
            docs.push(doc);
        }
    }
    Ok(docs)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
        let p = dir.join(name);
        std::fs::write(&p, text).unwrap();
        p
    }

    #[test]
    fn jsonl_errors_name_file_and_line() {
        let d = tempfile::tempdir().unwrap();
        let p = write(d.path(), "a.jsonl", "{\"id\":\"1\",\"text\":\"好\"}\n\n{\"id\":\"2\"}\n");
        let e = read_documents(&[p]).unwrap_err().to_string();
        assert!(e.contains("a.jsonl:3:") && e.contains("missing field `text`"), "{e}");
    }

    #[test]
    fn duplicate_ids_are_rejected() {
        let d = tempfile::tempdir().unwrap();
        let p = write(d.path(), "a.jsonl", "{\"id\":1,\"text\":\"好\"}\n{\"id\":\"1\",\"text\":\"坏\"}\n");
        let e = read_documents(&[p]).unwrap_err().to_string();
        assert!(e.contains("a.jsonl:2:") && e.contains("duplicate document id `1`") && e.contains("a.jsonl:1"), "{e}");
    }

    #[test]
    fn markdown_headings_become_titles() {
        let d = tempfile::tempdir().unwrap();
        let p = write(d.path(), "guide.md", "前言。\n# 安装\n运行脚本。\n## 配置 ##\n编辑文件。\n");
        let docs = read_documents(&[p]).unwrap();
        assert_eq!(docs[0].id, "guide");
        let titles: Vec<_> = docs[0].sections.iter().map(|s| s.title.as_deref()).collect();
        assert_eq!(titles, [None, Some("安装"), Some("配置")]);
    }

    #[test]
    fn unsupported_and_empty_files_are_errors() {
        let d = tempfile::tempdir().unwrap();
        let e = read_documents(&[write(d.path(), "x.pdf", "x")]).unwrap_err().to_string();
        assert!(e.contains("x.pdf") && e.contains("unsupported"), "{e}");
        let e = read_documents(&[write(d.path(), "y.txt", " \n")]).unwrap_err().to_string();
        assert!(e.contains("y.txt") && e.contains("no text"), "{e}");
    }
}
