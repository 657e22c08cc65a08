//! A small, seeded byte mutator for the bounded runner (libFuzzer has its own): the
//! usual havoc operations (bit flips, interesting values, insertions, deletions,
//! duplications, splices with another corpus entry) plus tokens that matter to the
//! formats fuzzed here (JSON syntax, extreme numbers, protobuf varints).

/// xorshift64*: reproducible from the seed alone.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed.max(1))
    }

    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Uniform in `0..n` (`n` > 0).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

const TOKENS: &[&[u8]] = &[
    b"\"",
    b"{",
    b"}",
    b"[",
    b"]",
    b":",
    b",",
    b"null",
    b"true",
    b"-",
    b"0",
    b"-1",
    b"1e999",
    b"-1e999",
    b"18446744073709551615",
    b"18446744073709551616",
    b"4294967296",
    b"9223372036854775807",
    b"NaN",
    b"\\u0000",
    b"\\ud800",
    b"\n",
    b"\r\n",
    b"# ",
    b"```",
    b"\xff\xff\xff\xff\x0f",
    b"\x80\x80\x80\x80\x80\x80\x80\x80\x80\x01",
    b"\xef\xbb\xbf",
    b"\xe4\xbd\xa0",
    b"<extra_id_0>",
    b"</s>",
    b"\xe2\x96\x81",
];

const INTERESTING: &[u64] = &[
    0,
    1,
    0x7f,
    0x80,
    0xff,
    0x7fff,
    0xffff,
    0x7fff_ffff,
    0xffff_ffff,
    u64::MAX,
    1 << 40,
];

/// A position, usually near the start: the headers of the binary formats (safetensors'
/// JSON header, protobuf fields, zip records) are where lengths and shapes are declared.
fn position(rng: &mut Rng, len: usize) -> usize {
    if len == 0 {
        return 0;
    }
    if rng.below(4) != 0 {
        rng.below(len.min(4096))
    } else {
        rng.below(len)
    }
}

/// One to four havoc operations on `input`; `other` is a second corpus entry to splice.
pub fn mutate(rng: &mut Rng, input: &[u8], other: &[u8], max_len: usize) -> Vec<u8> {
    let mut out = input.to_vec();
    for _ in 0..1 + rng.below(4) {
        let len = out.len();
        match rng.below(10) {
            0 if len > 0 => {
                let at = position(rng, len);
                out[at] ^= 1 << rng.below(8);
            }
            1 if len > 0 => {
                let at = position(rng, len);
                out[at] = rng.next() as u8;
            }
            2 if len > 0 => {
                let value = INTERESTING[rng.below(INTERESTING.len())];
                let width = [1, 2, 4, 8][rng.below(4)];
                let at = position(rng, len);
                for (i, byte) in value.to_le_bytes().iter().take(width).enumerate() {
                    if at + i < out.len() {
                        out[at + i] = *byte;
                    }
                }
            }
            3 => {
                let at = position(rng, len);
                let junk: Vec<u8> = (0..1 + rng.below(16)).map(|_| rng.next() as u8).collect();
                out.splice(at..at, junk);
            }
            4 if len > 1 => {
                let at = position(rng, len);
                let end = (at + 1 + rng.below(64)).min(len);
                out.drain(at..end);
            }
            5 if len > 0 => {
                let from = position(rng, len);
                let piece = out[from..(from + 1 + rng.below(256)).min(len)].to_vec();
                let at = position(rng, len);
                out.splice(at..at, piece);
            }
            6 if len > 0 => out.truncate(position(rng, len)),
            7 if !other.is_empty() => {
                let cut = position(rng, len);
                let from = rng.below(other.len());
                out.truncate(cut);
                out.extend_from_slice(&other[from..]);
            }
            8 => {
                let at = position(rng, len);
                let token = TOKENS[rng.below(TOKENS.len())];
                out.splice(at..at, token.iter().copied());
            }
            _ => {
                // Nudge a decimal digit: lengths and sizes in JSON headers.
                let digits: Vec<usize> = out
                    .iter()
                    .enumerate()
                    .filter(|(_, b)| b.is_ascii_digit())
                    .map(|(i, _)| i)
                    .collect();
                if !digits.is_empty() {
                    let at = digits[rng.below(digits.len())];
                    out[at] = b"0123456789"[rng.below(10)];
                }
            }
        }
    }
    out.truncate(max_len);
    out
}
