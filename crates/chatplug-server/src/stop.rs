//! OpenAI `stop` strings: the reply ends before the first one. While streaming, text
//! that may be the start of a stop string is held back until it is known not to be.

/// Filters a stream of text deltas.
pub struct StopFilter<'a> {
    stops: &'a [String],
    /// Text received but not yet handed out (a possible stop-string prefix).
    pending: String,
    stopped: bool,
}

impl<'a> StopFilter<'a> {
    pub fn new(stops: &'a [String]) -> Self {
        StopFilter { stops, pending: String::new(), stopped: false }
    }

    /// The part of `delta` that can be handed out now.
    pub fn push(&mut self, delta: &str) -> String {
        if self.stopped {
            return String::new();
        }
        self.pending.push_str(delta);
        if let Some(at) = first_stop(&self.pending, self.stops) {
            self.stopped = true;
            let out = self.pending[..at].to_string();
            self.pending.clear();
            return out;
        }
        let keep = held_back(&self.pending, self.stops);
        let out = self.pending[..self.pending.len() - keep].to_string();
        self.pending.drain(..self.pending.len() - keep);
        out
    }

    /// What is left at the end of the stream.
    pub fn finish(self) -> String {
        self.pending
    }
}

/// `text` cut before its first stop string.
pub fn cut_at_stop(text: &str, stops: &[String]) -> String {
    match first_stop(text, stops) {
        Some(at) => text[..at].to_string(),
        None => text.to_string(),
    }
}

fn first_stop(text: &str, stops: &[String]) -> Option<usize> {
    stops.iter().filter(|s| !s.is_empty()).filter_map(|s| text.find(s.as_str())).min()
}

/// Length in bytes of the longest suffix of `text` that is a proper prefix of a stop
/// string (always on a character boundary).
fn held_back(text: &str, stops: &[String]) -> usize {
    let mut best = 0;
    for (start, _) in text.char_indices() {
        let tail = &text[start..];
        if stops.iter().any(|s| s.len() > tail.len() && s.starts_with(tail)) {
            best = best.max(tail.len());
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stream(deltas: &[&str], stops: &[&str]) -> String {
        let stops: Vec<String> = stops.iter().map(|s| s.to_string()).collect();
        let mut f = StopFilter::new(&stops);
        let mut out: String = deltas.iter().map(|d| f.push(d)).collect();
        out.push_str(&f.finish());
        out
    }

    #[test]
    fn streaming_cuts_like_the_whole_text() {
        let stops = ["。你", "END"];
        let cases: &[&[&str]] = &[&["你好", "。", "你呢"], &["abcE", "N", "Dxyz"], &["no stop ", "here", " E"], &["。", "我"]];
        for deltas in cases {
            let whole: String = deltas.concat();
            let stops_owned: Vec<String> = stops.iter().map(|s| s.to_string()).collect();
            assert_eq!(stream(deltas, &stops), cut_at_stop(&whole, &stops_owned), "{deltas:?}");
        }
        assert_eq!(stream(&["你好", "。", "你呢"], &stops), "你好");
        assert_eq!(stream(&["abcE", "N", "Dxyz"], &stops), "abc");
    }
}
