//! A check of a torch zip checkpoint's pickles before candle's unpickler reads them.
//!
//! A `pytorch_model.bin` is a zip whose `*/data.pkl` is a pickle program. candle's
//! unpickler executes no code, but it builds every object the program describes, cloning
//! memoized objects on each `BINGET`: a few hundred bytes that double a memoized tuple
//! forty times describe 2⁴⁰ objects, and a million nested `MARK … TUPLE`s make a value
//! whose recursive drop overflows the stack. This module runs the program over object
//! *sizes* only, in bounded memory and time, and refuses it before candle builds
//! anything when it would make too many objects, nest too deep, claim more bytes than it
//! holds, use an opcode candle does not read, or name a global a state dict never needs.

use std::io::Read;
use std::path::Path;

/// The most objects a checkpoint's pickles may create: a state dict makes a few dozen
/// per tensor (ChatPLUG-3.7B: ~600 tensors).
pub const MAX_OBJECTS: u64 = 10_000_000;
/// The deepest nesting a pickle may build (a state dict is about 6 deep).
pub const MAX_DEPTH: u32 = 256;
/// The largest `data.pkl` read (the tensors' bytes live in other zip entries).
pub const MAX_PICKLE_BYTES: u64 = 256 << 20;

/// Modules whose globals a state dict refers to (`torch._utils._rebuild_tensor_v2`,
/// `torch.FloatStorage`, `collections.OrderedDict`, `_codecs.encode` for bytes, numpy
/// scalars in some checkpoints' metadata).
const ALLOWED_MODULES: &[&str] = &["torch", "collections", "_codecs", "numpy"];

/// Checks every `*/data.pkl` of the zip at `path`.
pub fn check_torch_zip(path: &Path) -> Result<(), String> {
    let file = std::fs::File::open(path).map_err(|e| format!("cannot open: {e}"))?;
    let mut zip = zip::ZipArchive::new(std::io::BufReader::new(file)).map_err(|e| format!("not a zip archive: {e}"))?;
    let names: Vec<String> = zip
        .file_names()
        .map(|n| n.map(|n| n.into_owned()))
        .collect::<Result<_, _>>()
        .map_err(|e| format!("unreadable zip entry name: {e}"))?;
    for name in names.iter().filter(|n| n.ends_with("data.pkl")) {
        let entry = zip.by_name(name).map_err(|e| format!("{name}: {e}"))?;
        let mut bytes = Vec::new();
        entry
            .take(MAX_PICKLE_BYTES + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| format!("{name}: cannot read: {e}"))?;
        if bytes.len() as u64 > MAX_PICKLE_BYTES {
            return Err(format!("{name}: pickle larger than {MAX_PICKLE_BYTES} bytes"));
        }
        check_pickle(&bytes).map_err(|e| format!("{name}: {e}"))?;
    }
    Ok(())
}

/// One value on the shadow stack: how many objects it holds and how deep it nests.
#[derive(Clone, Copy, Debug)]
struct Shape {
    objects: u64,
    depth: u32,
}

enum Slot {
    Mark,
    Value(Shape),
}

const LEAF: Shape = Shape { objects: 1, depth: 0 };

struct Machine {
    stack: Vec<Slot>,
    memo: std::collections::HashMap<u32, Shape>,
    made: u64,
}

impl Machine {
    /// Counts `objects` newly made.
    fn count(&mut self, objects: u64) -> Result<(), String> {
        self.made = self.made.saturating_add(objects);
        if self.made > MAX_OBJECTS {
            return Err(format!(
                "the pickle would create more than {MAX_OBJECTS} objects (a self-referencing or \
                 exponentially copied structure, not a state dict)"
            ));
        }
        Ok(())
    }

    fn check_depth(depth: u32) -> Result<(), String> {
        if depth > MAX_DEPTH {
            return Err(format!("the pickle nests deeper than {MAX_DEPTH} levels"));
        }
        Ok(())
    }

    /// Pushes a value made whole (a scalar, or a copy from the memo): all its objects are new.
    fn push(&mut self, shape: Shape) -> Result<(), String> {
        self.count(shape.objects)?;
        Self::check_depth(shape.depth)?;
        self.stack.push(Slot::Value(shape));
        Ok(())
    }

    fn pop(&mut self, op: &str) -> Result<Shape, String> {
        match self.stack.pop() {
            Some(Slot::Value(s)) => Ok(s),
            Some(Slot::Mark) => Err(format!("{op}: found a mark where a value was expected")),
            None => Err(format!("{op}: the stack is empty")),
        }
    }

    fn pop_to_mark(&mut self, op: &str) -> Result<Vec<Shape>, String> {
        let mut values = Vec::new();
        loop {
            match self.stack.pop() {
                Some(Slot::Value(s)) => values.push(s),
                Some(Slot::Mark) => return Ok(values),
                None => return Err(format!("{op}: no mark on the stack")),
            }
        }
    }

    fn top(&mut self, op: &str) -> Result<&mut Shape, String> {
        match self.stack.last_mut() {
            Some(Slot::Value(s)) => Ok(s),
            _ => Err(format!("{op}: no value on the stack")),
        }
    }

    /// A new container holding `parts`, which were counted when they were pushed: only
    /// the container itself is new.
    fn container(&mut self, parts: &[Shape]) -> Result<(), String> {
        let objects = parts.iter().fold(1u64, |n, s| n.saturating_add(s.objects));
        let depth = 1 + parts.iter().map(|s| s.depth).max().unwrap_or(0);
        self.count(1)?;
        Self::check_depth(depth)?;
        self.stack.push(Slot::Value(Shape { objects, depth }));
        Ok(())
    }

    /// `parts` added to the container on top of the stack.
    fn extend_top(&mut self, parts: &[Shape], op: &str) -> Result<(), String> {
        let top = self.top(op)?;
        for p in parts {
            top.objects = top.objects.saturating_add(p.objects);
            top.depth = top.depth.max(1 + p.depth);
        }
        Self::check_depth(top.depth)
    }
}

/// A cursor over the pickle's bytes; every length is checked against what is left.
struct Bytes<'a> {
    data: &'a [u8],
    at: usize,
}

impl<'a> Bytes<'a> {
    fn take(&mut self, n: u64, what: &str) -> Result<&'a [u8], String> {
        let left = (self.data.len() - self.at) as u64;
        if n > left {
            return Err(format!("{what} at byte {} claims {n} bytes; {left} are left", self.at));
        }
        let out = &self.data[self.at..self.at + n as usize];
        self.at += n as usize;
        Ok(out)
    }

    fn uint(&mut self, width: u64, what: &str) -> Result<u64, String> {
        let b = self.take(width, what)?;
        Ok(b.iter().rev().fold(0u64, |n, &x| (n << 8) | x as u64))
    }

    fn line(&mut self, what: &str) -> Result<&'a str, String> {
        let rest = &self.data[self.at..];
        let end = rest.iter().position(|&b| b == b'\n').ok_or_else(|| format!("{what}: no end of line"))?;
        self.at += end + 1;
        std::str::from_utf8(&rest[..end]).map_err(|_| format!("{what}: not UTF-8"))
    }
}

/// Runs the pickle program over object sizes (the opcodes candle's unpickler reads).
pub fn check_pickle(data: &[u8]) -> Result<(), String> {
    let mut b = Bytes { data, at: 0 };
    let mut m = Machine { stack: Vec::new(), memo: Default::default(), made: 0 };
    loop {
        let at = b.at;
        let op = *b.take(1, "opcode").map_err(|_| "the pickle ends without STOP".to_string())?.first().unwrap();
        match op {
            0x80 => {
                b.take(1, "PROTO")?;
            }
            b'c' => {
                let module = b.line("GLOBAL module")?;
                let name = b.line("GLOBAL name")?;
                let root = module.split('.').next().unwrap_or("");
                if !ALLOWED_MODULES.contains(&root) {
                    return Err(format!(
                        "the pickle refers to `{module}.{name}` (byte {at}); a state dict needs only {}",
                        ALLOWED_MODULES.join(", ")
                    ));
                }
                m.push(LEAF)?;
            }
            b'q' | b'r' => {
                let id = b.uint(if op == b'q' { 1 } else { 4 }, "BINPUT")? as u32;
                let top = *m.top("BINPUT")?;
                // candle stores a copy.
                m.count(top.objects)?;
                m.memo.insert(id, top);
            }
            b'h' | b'j' => {
                let id = b.uint(if op == b'h' { 1 } else { 4 }, "BINGET")? as u32;
                let shape = *m.memo.get(&id).ok_or_else(|| format!("BINGET {id} at byte {at}: nothing memoized"))?;
                m.push(shape)?;
            }
            b'X' => {
                let len = b.uint(4, "BINUNICODE length")?;
                b.take(len, "BINUNICODE")?;
                m.push(LEAF)?;
            }
            0x8a => {
                let len = b.uint(1, "LONG1 length")?;
                b.take(len, "LONG1")?;
                m.push(LEAF)?;
            }
            b'J' | b'K' | b'M' | b'G' => {
                let (width, name) = match op {
                    b'J' => (4, "BININT"),
                    b'K' => (1, "BININT1"),
                    b'M' => (2, "BININT2"),
                    _ => (8, "BINFLOAT"),
                };
                b.take(width, name)?;
                m.push(LEAF)?;
            }
            b'N' | 0x88 | 0x89 => m.push(LEAF)?,
            b')' | b']' | b'}' => m.container(&[])?,
            b'(' => m.stack.push(Slot::Mark),
            b't' | b'd' => {
                let parts = m.pop_to_mark("TUPLE")?;
                m.container(&parts)?;
            }
            0x85..=0x87 => {
                let n = (op - 0x84) as usize;
                let parts = (0..n).map(|_| m.pop("TUPLEn")).collect::<Result<Vec<_>, _>>()?;
                m.container(&parts)?;
            }
            b'R' | 0x81 => {
                let args = m.pop("REDUCE")?;
                let callable = m.pop("REDUCE")?;
                m.container(&[callable, args])?;
            }
            b'Q' => {
                let pid = m.pop("BINPERSID")?;
                m.container(&[pid])?;
            }
            b'b' => {
                let state = m.pop("BUILD")?;
                m.extend_top(&[state], "BUILD")?;
            }
            b's' => {
                let value = m.pop("SETITEM")?;
                let key = m.pop("SETITEM")?;
                m.extend_top(&[key, value], "SETITEM")?;
            }
            b'a' => {
                let value = m.pop("APPEND")?;
                m.extend_top(&[value], "APPEND")?;
            }
            b'u' | b'e' => {
                let parts = m.pop_to_mark("SETITEMS")?;
                m.extend_top(&parts, "SETITEMS")?;
            }
            b'.' => return Ok(()),
            other => {
                return Err(format!(
                    "opcode 0x{other:02x} at byte {at} is not one a torch state dict pickle uses here \
                     (protocol 2, as torch.save writes)"
                ))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `torch.save({"w": tensor})`-like: the shapes of the opcodes a real state dict uses.
    fn state_dict_like() -> Vec<u8> {
        let mut p = vec![0x80, 2, b'}', b'q', 0, b'(', b'X'];
        p.extend(1u32.to_le_bytes());
        p.push(b'w');
        p.extend(b"ctorch._utils\n_rebuild_tensor_v2\nq\x01(");
        p.extend(b"(X\x07\x00\x00\x00storagectorch\nFloatStorage\nX\x01\x00\x00\x000X\x03\x00\x00\x00cpuK\x04tQ");
        p.extend(b"K\x00K\x02K\x02\x86K\x02K\x01\x86\x89ccollections\nOrderedDict\n)Rtq\x02Ru.");
        p
    }

    #[test]
    fn a_state_dict_passes() {
        check_pickle(&state_dict_like()).unwrap();
    }

    #[test]
    fn exponential_copies_are_refused_in_bounded_time() {
        // memo[0] = []; 64 times: memo[0] = (memo[0], memo[0]): 2^64 objects in 450 bytes.
        let mut p = vec![0x80, 2, b']', b'q', 0];
        for _ in 0..64 {
            p.extend([b'h', 0, b'h', 0, 0x86, b'q', 0]);
        }
        p.push(b'.');
        let err = check_pickle(&p).unwrap_err();
        assert!(err.contains("more than 10000000 objects"), "{err}");
    }

    #[test]
    fn deep_nesting_is_refused() {
        let mut p = vec![0x80, 2];
        p.extend(std::iter::repeat_n(b'(', 100_000));
        p.extend(std::iter::repeat_n(b't', 100_000));
        p.push(b'.');
        let err = check_pickle(&p).unwrap_err();
        assert!(err.contains("deeper than 256"), "{err}");
    }

    #[test]
    fn lengths_beyond_the_data_are_refused() {
        let mut p = vec![0x80, 2, b'X'];
        p.extend(0xFFFF_FFF0u32.to_le_bytes());
        p.extend(b"abc");
        let err = check_pickle(&p).unwrap_err();
        assert!(err.contains("claims 4294967280 bytes; 3 are left"), "{err}");
    }

    #[test]
    fn globals_outside_a_state_dict_are_refused() {
        let err = check_pickle(b"\x80\x02cos\nsystem\nX\x02\x00\x00\x00lsR.").unwrap_err();
        assert!(err.contains("`os.system`"), "{err}");
    }

    fn fixture(name: &str) -> std::path::PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/golden/models").join(name).join("pytorch_model.bin")
    }

    #[test]
    fn checkpoints_written_by_torch_save_pass() {
        for model in ["relu_tied_bin", "chatplug_bin"] {
            check_torch_zip(&fixture(model)).unwrap_or_else(|e| panic!("{model}: {e}"));
        }
    }

    #[test]
    fn a_hostile_pickle_in_a_zip_is_refused_by_the_loader() {
        use std::io::Write;
        let dir = std::env::temp_dir().join(format!("chatplug-pickle-guard-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::copy(fixture("relu_tied_bin").with_file_name("config.json"), dir.join("config.json")).unwrap();
        let path = dir.join("pytorch_model.bin");
        let mut zip = zip::ZipWriter::new(std::fs::File::create(&path).unwrap());
        let options = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
        zip.start_file("archive/data.pkl", options).unwrap();
        let mut p = vec![0x80, 2, b']', b'q', 0];
        for _ in 0..40 {
            p.extend([b'h', 0, b'h', 0, 0x86, b'q', 0]);
        }
        p.push(b'.');
        zip.write_all(&p).unwrap();
        zip.finish().unwrap();
        let err = match crate::FidT5::load(&dir, &candle_core::Device::Cpu) {
            Ok(_) => panic!("the hostile checkpoint loaded"),
            Err(e) => e.to_string(),
        };
        std::fs::remove_dir_all(&dir).ok();
        assert!(err.contains("pytorch_model.bin") && err.contains("archive/data.pkl") && err.contains("objects"), "{err}");
    }

    #[test]
    fn unknown_opcodes_and_truncation_are_errors() {
        assert!(check_pickle(b"\x80\x02\x95").unwrap_err().contains("opcode 0x95"));
        assert!(check_pickle(b"\x80\x02N").unwrap_err().contains("without STOP"));
        assert!(check_pickle(b"\x80\x02h\x05.").unwrap_err().contains("nothing memoized"));
    }
}
