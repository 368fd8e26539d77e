#!/usr/bin/env bash
# Render every Mermaid diagram in design/ with Mermaid's own CLI into
# design/diagrams/DOCUMENT-N.svg, N counting the document's diagrams from 1.
# Needs Node.js and Debian's Chromium; nothing is downloaded at run time
# (PUPPETEER_SKIP_DOWNLOAD: Puppeteer drives /usr/bin/chromium, tools/mermaid/puppeteer.json).
set -euo pipefail
cd "$(dirname "$0")/.."
mmdc=tools/mermaid/node_modules/.bin/mmdc
[ -x "$mmdc" ] || PUPPETEER_SKIP_DOWNLOAD=1 npm ci --prefix tools/mermaid --no-audit --no-fund
mkdir -p design/diagrams
for doc in design/*.md; do
    if grep -q '^```mermaid' "$doc"; then
        "$mmdc" --quiet --puppeteerConfigFile tools/mermaid/puppeteer.json \
            --input "$doc" --output "design/diagrams/$(basename "$doc" .md).svg"
    fi
done
