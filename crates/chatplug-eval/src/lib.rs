//! Evaluation of ChatPLUG replies with the metrics of the paper: BLEU-1/2/4 (NLTK's
//! corpus BLEU), ROUGE-L, character F1, Distinct-1/2, Knowledge-F1, answer hit rate,
//! reply length and latency percentiles, all on characters with whitespace removed.
//! Also the evaluation data format (request fields plus `id`, `category`, `response`,
//! `answers`) and predictions files. Knows nothing of models, tensors or HTTP.

pub mod bleu;
pub mod data;
pub mod distinct;
pub mod error;
pub mod f1;
pub mod jsonl;
pub mod ngrams;
pub mod percentile;
pub mod predictions;
pub mod rouge;
pub mod summary;
pub mod table;
pub mod text;

pub use data::{read_items, Item};
pub use error::EvalError;
pub use predictions::{match_predictions, read_predictions, Prediction};
pub use summary::{report, score_item, summarize, ItemScores, Record, Report, Summary};
pub use table::render_table;
pub use text::eval_chars;
