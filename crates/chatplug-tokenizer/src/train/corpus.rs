//! Training text: plain-text files (one sentence or paragraph per line) and
//! JSONL files (`{"text": ...}` objects, or any object whose string fields are
//! taken, e.g. dialogue or instruction records). Every line is handed to a
//! callback as soon as it is read, so a corpus of many MB is never held twice.

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};

use serde_json::Value;

use super::TrainError;

/// How an input file is read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InputFormat {
    /// `.jsonl` / `.json` files are JSONL, everything else plain text.
    Auto,
    /// One sentence or paragraph per line.
    Text,
    /// One JSON object per line: its `"text"` string if it has one, else every
    /// string value in it (nested ones too) except those of `"role"` keys.
    Jsonl,
}

impl InputFormat {
    pub fn parse(name: &str) -> Option<InputFormat> {
        match name {
            "auto" => Some(InputFormat::Auto),
            "text" => Some(InputFormat::Text),
            "jsonl" => Some(InputFormat::Jsonl),
            _ => None,
        }
    }

    fn resolve(self, path: &Path) -> InputFormat {
        match self {
            InputFormat::Auto => {
                let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("");
                if ext.eq_ignore_ascii_case("jsonl") || ext.eq_ignore_ascii_case("json") {
                    InputFormat::Jsonl
                } else {
                    InputFormat::Text
                }
            }
            other => other,
        }
    }
}

/// Reads every file and calls `sink` with each training sentence. A string
/// with newlines is cut into one sentence per line: at inference ChatPLUG maps
/// a newline to the special token `▁<extra_id_22>`, which splits the text there.
pub fn for_each_sentence(
    paths: &[PathBuf],
    format: InputFormat,
    mut sink: impl FnMut(&str),
) -> Result<(), TrainError> {
    for path in paths {
        let file = File::open(path).map_err(|source| TrainError::Read {
            path: path.clone(),
            source,
        })?;
        let format = format.resolve(path);
        let mut reader = BufReader::new(file);
        let mut bytes = Vec::new();
        let mut line_no = 0usize;
        loop {
            bytes.clear();
            let n = reader
                .read_until(b'\n', &mut bytes)
                .map_err(|source| TrainError::Read {
                    path: path.clone(),
                    source,
                })?;
            if n == 0 {
                break;
            }
            line_no += 1;
            let line = std::str::from_utf8(&bytes).map_err(|e| TrainError::InputLine {
                path: path.clone(),
                line: line_no,
                message: format!("not valid UTF-8 (byte {} of the line)", e.valid_up_to() + 1),
            })?;
            let text = line.strip_suffix('\n').unwrap_or(line);
            let text = text.strip_suffix('\r').unwrap_or(text);
            match format {
                InputFormat::Jsonl => {
                    if text.trim().is_empty() {
                        continue;
                    }
                    let value: Value =
                        serde_json::from_str(text).map_err(|e| TrainError::InputLine {
                            path: path.clone(),
                            line: line_no,
                            message: format!("not valid JSON: {e}"),
                        })?;
                    if !value.is_object() {
                        return Err(TrainError::InputLine {
                            path: path.clone(),
                            line: line_no,
                            message: "expected a JSON object (e.g. {\"text\": \"...\"})".into(),
                        });
                    }
                    match value.get("text") {
                        Some(Value::String(s)) => s.lines().for_each(&mut sink),
                        Some(_) => {
                            return Err(TrainError::InputLine {
                                path: path.clone(),
                                line: line_no,
                                message: "field \"text\" must be a string".into(),
                            })
                        }
                        None => for_each_string(&value, &mut |s| s.lines().for_each(&mut sink)),
                    }
                }
                _ => sink(text),
            }
        }
    }
    Ok(())
}

/// Every string value inside `value`, depth first, skipping `"role"` fields
/// (`"user"` / `"bot"` labels are not text the model reads).
fn for_each_string(value: &Value, sink: &mut impl FnMut(&str)) {
    match value {
        Value::String(s) => sink(s),
        Value::Array(items) => items.iter().for_each(|v| for_each_string(v, sink)),
        Value::Object(map) => {
            for (key, v) in map {
                if key != "role" {
                    for_each_string(v, sink);
                }
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn collect(contents: &str, name: &str, format: InputFormat) -> Result<Vec<String>, TrainError> {
        let dir = std::env::temp_dir().join(format!("chatplug-corpus-{}-{name}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(name);
        std::fs::write(&path, contents).unwrap();
        let mut out = Vec::new();
        let r = for_each_sentence(&[path], format, |s| out.push(s.to_string()));
        std::fs::remove_dir_all(&dir).unwrap();
        r.map(|()| out)
    }

    #[test]
    fn plain_text_lines() {
        let got = collect("第一行\r\n\n第二行", "a.txt", InputFormat::Auto).unwrap();
        assert_eq!(got, ["第一行", "", "第二行"]);
    }

    #[test]
    fn jsonl_text_field_and_string_fields() {
        let got = collect(
            "{\"text\": \"甲\\n乙\"}\n\n{\"query\": \"问\", \"history\": [{\"role\": \"user\", \"utterance\": \"嗨\"}], \"n\": 3}\n",
            "b.jsonl",
            InputFormat::Auto,
        )
        .unwrap();
        // Field order follows serde_json's map (sorted or insertion order); it does not matter.
        assert_eq!(got[..2], ["甲", "乙"]);
        let mut rest = got[2..].to_vec();
        rest.sort();
        assert_eq!(rest, ["嗨", "问"]);
    }

    #[test]
    fn invalid_utf8_names_file_and_line() {
        let dir = std::env::temp_dir().join(format!("chatplug-corpus-{}-utf8", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("bad.txt");
        std::fs::write(&path, b"ok\nab\xe4\xbd\n").unwrap();
        let err = for_each_sentence(&[path], InputFormat::Auto, |_| {}).unwrap_err();
        std::fs::remove_dir_all(&dir).unwrap();
        assert!(err.to_string().contains("bad.txt:2: not valid UTF-8 (byte 3"), "{err}");
    }

    #[test]
    fn bad_jsonl_line_names_file_and_line() {
        let err = collect("{\"text\": \"ok\"}\n{oops\n", "c.jsonl", InputFormat::Auto).unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("c.jsonl:2"), "{msg}");
        let err = collect("[1, 2]\n", "d.txt", InputFormat::Jsonl).unwrap_err();
        assert!(err.to_string().contains("d.txt:1: expected a JSON object"), "{err}");
        let err = collect("{\"text\": 5}\n", "e.jsonl", InputFormat::Auto).unwrap_err();
        assert!(err.to_string().contains("\"text\" must be a string"), "{err}");
    }
}
