//! Which network a model directory holds, read from its `config.json`, so that every
//! command can take either released ChatPLUG model.

use std::path::Path;

use crate::error::{ModelError, Result};
use crate::plug::PlugConfig;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Architecture {
    /// ChatPLUG-3.7B: FiD over mT5 (HF `T5Config`).
    FidT5,
    /// ChatPLUG-240M: FiD over PLUG v2 (ModelScope's `PlugConfig` with BERT fields).
    FidPlug,
}

impl Architecture {
    pub fn of_dir(dir: &Path) -> Result<Self> {
        let path = dir.join("config.json");
        let text = std::fs::read_to_string(&path)
            .map_err(|e| ModelError::file(&path, format!("cannot read model config: {e}")))?;
        let json: serde_json::Value = serde_json::from_str(&text)
            .map_err(|e| ModelError::file(&path, format!("not valid JSON: {e}")))?;
        Ok(if PlugConfig::describes_plug(&json) {
            Architecture::FidPlug
        } else {
            Architecture::FidT5
        })
    }
}
