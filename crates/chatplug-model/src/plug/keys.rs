//! Checkpoint keys of ChatPLUG-240M as ModelScope's `PlugV2Chat` maps them onto
//! `PlugModel` names: `translator…` keys (an old version's head) are dropped; a `module.`
//! prefix (data-parallel training) is removed; `backbone.plug.bert.bert.` (saved from the
//! FiD model, whose encoder wrapper adds a `bert.`) becomes `bert.`; `backbone.plug.` is
//! removed.
//!
//! The reference applies at most one of the renames to a key: it tests the original key
//! after removing `module.`, so `module.backbone.plug.…` keys are left unmatched there and
//! the model keeps random weights. Here they are mapped like their un-prefixed forms.

/// The `PlugModel` name of a checkpoint key; `None` for keys the reference drops.
pub fn plug_key(key: &str) -> Option<String> {
    if key.starts_with("translator") {
        return None;
    }
    let key = key.strip_prefix("module.").unwrap_or(key);
    if let Some(rest) = key.strip_prefix("backbone.plug.bert.bert.") {
        return Some(format!("bert.{rest}"));
    }
    if let Some(rest) = key.strip_prefix("backbone.plug.") {
        return Some(rest.to_string());
    }
    Some(key.to_string())
}

#[cfg(test)]
mod tests {
    use super::plug_key;

    #[test]
    fn modelscope_layouts_map_to_plug_model_names() {
        for (key, want) in [
            ("bert.encoder.layer.0.output.dense.weight", Some("bert.encoder.layer.0.output.dense.weight")),
            ("module.decoder.layer_norm.bias", Some("decoder.layer_norm.bias")),
            ("backbone.plug.bert.bert.embeddings.word_embeddings.weight", Some("bert.embeddings.word_embeddings.weight")),
            ("backbone.plug.generator.dense.bias", Some("generator.dense.bias")),
            ("module.backbone.plug.decoder.embeddings.weight", Some("decoder.embeddings.weight")),
            ("translator.generator.weight", None),
        ] {
            assert_eq!(plug_key(key).as_deref(), want, "{key}");
        }
    }
}
