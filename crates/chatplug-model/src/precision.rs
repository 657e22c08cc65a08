//! The numeric format the linear maps' weights are held and multiplied in.
//!
//! The token embedding of the T5 family is held in the chosen precision too (mT5's
//! 250,112-row table is most of an int8 model otherwise; rows are widened on lookup).
//! Norms, position biases and the PLUG family's (21,128-row) embeddings stay f32: they are
//! small, and read per token rather than streamed per step.

use std::fmt;
use std::str::FromStr;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Precision {
    /// The checkpoint's values as f32: bit-for-bit the HF reference's arithmetic.
    #[default]
    F32,
    /// Weights rounded to bfloat16 (half the memory and traffic), products in f32.
    Bf16,
    /// Weights quantized to int8 in blocks of 32 inputs with an f32 scale each, activations
    /// the same way on the fly, integer dot products ([`crate::int8`]).
    Int8,
}

impl Precision {
    pub const NAMES: &'static str = "f32, bf16 or int8";

    pub fn as_str(self) -> &'static str {
        match self {
            Precision::F32 => "f32",
            Precision::Bf16 => "bf16",
            Precision::Int8 => "int8",
        }
    }
}

impl fmt::Display for Precision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Precision {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "f32" | "float32" | "fp32" => Ok(Precision::F32),
            "bf16" | "bfloat16" => Ok(Precision::Bf16),
            "int8" | "i8" => Ok(Precision::Int8),
            other => Err(format!("unknown precision `{other}`; expected {}", Self::NAMES)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_names_and_rejects_others() {
        assert_eq!("int8".parse::<Precision>().unwrap(), Precision::Int8);
        assert_eq!("BF16".parse::<Precision>().unwrap(), Precision::Bf16);
        assert_eq!("float32".parse::<Precision>().unwrap(), Precision::F32);
        let err = "fp8".parse::<Precision>().unwrap_err();
        assert!(err.contains("`fp8`") && err.contains("f32, bf16 or int8"), "{err}");
    }
}
