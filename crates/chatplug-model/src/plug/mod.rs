//! ChatPLUG-240M: Fusion-in-Decoder over PLUG v2 (a BERT encoder and a PALM decoder), its
//! checkpoint layouts, and its own beam search (`translate`), as ModelScope implements them.

pub mod config;
pub mod keys;
pub mod model;
pub mod translate;

pub use config::PlugConfig;
pub use model::{FidPlug, PlugDecoderState, PlugEncoded};
pub use translate::{translate, translate_until, TranslateOptions};
