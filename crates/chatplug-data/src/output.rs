//! Writing results all at once: each file goes to a temporary file beside it and is
//! renamed into place, so a reader never sees half a file and an error leaves the
//! old file (or none).

use crate::error::{DataError, Result};
use crate::TokenizedExample;
use std::io::Write;
use std::path::{Path, PathBuf};

/// Tokenized examples as JSONL text.
pub fn tokenized_jsonl(examples: &[TokenizedExample]) -> String {
    let mut out = String::new();
    for e in examples {
        out.push_str(&serde_json::to_string(e).expect("examples serialize"));
        out.push('\n');
    }
    out
}

fn temp_path(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    path.with_file_name(format!(".{name}.tmp-{}", std::process::id()))
}

/// Writes every `(path, contents)` to its temporary file, then renames them all.
/// If any write fails, the temporary files are removed and nothing is renamed.
pub fn write_all_atomic(files: &[(&Path, &str)]) -> Result<()> {
    let mut written: Vec<(PathBuf, &Path)> = Vec::new();
    let write_one = |path: &Path, contents: &str| -> Result<PathBuf> {
        let tmp = temp_path(path);
        let err = |source| DataError::Write {
            path: path.to_path_buf(),
            source,
        };
        let mut f = std::fs::File::create(&tmp).map_err(err)?;
        let result = f.write_all(contents.as_bytes()).and_then(|_| f.sync_all());
        if let Err(e) = result {
            let _ = std::fs::remove_file(&tmp);
            return Err(err(e));
        }
        Ok(tmp)
    };
    for (path, contents) in files {
        match write_one(path, contents) {
            Ok(tmp) => written.push((tmp, path)),
            Err(e) => {
                for (tmp, _) in &written {
                    let _ = std::fs::remove_file(tmp);
                }
                return Err(e);
            }
        }
    }
    for (tmp, path) in &written {
        std::fs::rename(tmp, path).map_err(|source| DataError::Write {
            path: path.to_path_buf(),
            source,
        })?;
    }
    Ok(())
}
