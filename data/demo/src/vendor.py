"""Text from registry packages whose licences allow it (see ATTRIBUTION):

- PyPI `chatterbot-corpus` 1.3.3 (BSD-3-Clause): the simplified-Chinese
  conversation YAMLs. Only the everyday files are read (greetings, conversations);
  the others are about being a robot or are loose machine translations.
- npm `chinese-poetry` 2.0.1 (MIT; the poems themselves are centuries old and in
  the public domain): Song ci and the Book of Songs, already in simplified
  characters. Only the poem lines are used, never the modern commentary some
  files carry.

data/demo/fetch_packages.sh downloads both archives into data/demo/build/vendor/;
their SHA-256 is checked here so the built data is the same everywhere.
"""

import hashlib
import json
import tarfile
import zipfile
from pathlib import Path

CHATTERBOT = ("chatterbot_corpus-1.3.3-py2.py3-none-any.whl",
              "86de5300afb9a80826386339d3bec79c0a72eb0358abb8327e2ecef5ae0ce154")
POETRY = ("chinese-poetry-2.0.1.tgz",
          "25b549e46919c3a0569db6b68ddc96956b04a484ea4518ad2bbd4f137e307e86")
CHATTERBOT_FILES = ["greetings.yml", "conversations.yml"]


class VendorError(Exception):
    pass


def _checked(vendor_dir, name_sha):
    name, sha = name_sha
    path = Path(vendor_dir) / name
    if not path.is_file():
        raise VendorError(f"{path}: missing; run data/demo/fetch_packages.sh first (or pass --no-packages)")
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    if digest != sha:
        raise VendorError(f"{path}: SHA-256 {digest} differs from the pinned {sha}")
    return path


def parse_conversation_yaml(text, where):
    """The chatterbot corpus YAML shape only: `conversations:` then `- - first` /
    `  - next` items. Returns [[turn, ...], ...]."""
    convs, cur, inside = [], None, False
    for n, raw in enumerate(text.splitlines(), 1):
        line = raw.rstrip()
        if not line.strip():
            continue
        if line.startswith("conversations:"):
            inside = True
            continue
        if not inside:
            continue
        if line.startswith("- - "):
            cur = [line[4:].strip()]
            convs.append(cur)
        elif line.startswith("  - ") and cur is not None:
            cur.append(line[4:].strip())
        else:
            raise VendorError(f"{where}:{n}: unexpected line shape: {line!r}")
    return [[_unquote(t) for t in c] for c in convs]


def _unquote(t):
    if len(t) >= 2 and t[0] == t[-1] and t[0] in "'\"":
        return t[1:-1]
    return t


def chatterbot_dialogues(vendor_dir):
    path = _checked(vendor_dir, CHATTERBOT)
    out = []
    with zipfile.ZipFile(path) as z:
        for f in CHATTERBOT_FILES:
            member = f"chatterbot_corpus/data/chinese/{f}"
            text = z.read(member).decode("utf-8")
            out.extend(parse_conversation_yaml(text, f"{path.name}!{member}"))
    return out


def poems(vendor_dir):
    """(source, title, text) of every poem, in file order: the 宋词三百首 selection
    ("songci300"), all Song ci ("songci") and the Book of Songs ("shijing")."""
    path = _checked(vendor_dir, POETRY)
    out = []
    with tarfile.open(path, "r:gz") as t:
        names = sorted(m.name for m in t.getmembers() if m.isfile())
        ci_files = [n for n in names if n.startswith("package/dist/songci/ci.song.") and n.endswith(".json")]
        picks = ["package/dist/songci/宋词三百首.json"] + ci_files
        for name in picks:
            source = "songci300" if name.endswith("宋词三百首.json") else "songci"
            for p in json.loads(t.extractfile(name).read().decode("utf-8")):
                title = p.get("rhythmic") or p.get("title") or ""
                body = "".join(p.get("paragraphs", []))
                if body:
                    out.append((source, title, body))
        for p in json.loads(t.extractfile("package/dist/shijing/shijing.json").read().decode("utf-8")):
            body = "".join(p.get("content", []))
            if body:
                out.append(("shijing", p.get("title", ""), body))
    return out
