#!/usr/bin/env bash
# Downloads the two registry packages the demo data uses into data/demo/build/vendor/
# with the ordinary clients (pip, npm). Versions are pinned; build.py checks SHA-256.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
vendor="$here/build/vendor"
mkdir -p "$vendor"
cd "$vendor"
[ -f chatterbot_corpus-1.3.3-py2.py3-none-any.whl ] || \
  python3 -m pip download --no-deps --only-binary :all: chatterbot-corpus==1.3.3 -d .
[ -f chinese-poetry-2.0.1.tgz ] || npm pack chinese-poetry@2.0.1 >/dev/null
sha256sum chatterbot_corpus-1.3.3-py2.py3-none-any.whl chinese-poetry-2.0.1.tgz
