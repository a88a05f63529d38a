#!/usr/bin/env bash
# Chroma side by side with engram's store bench on the same vectors (see chroma.py).
# Makes its own venv in target/peers/venv (chromadb 1.5.9 and numpy from PyPI); not run by
# CI. Needs the vectors the full store bench writes:
#   cargo bench --bench store        # prints engram's CoSQA table, writes the vectors
#   bash benches/peers/run-chroma.sh # prints Chroma's
set -euo pipefail
cd "$(dirname "$0")/../.."
vectors=target/peers/cosqa-vectors.json
if [[ ! -f $vectors ]]; then
    echo "no $vectors: run \`cargo bench --bench store\` first" >&2
    exit 1
fi
venv=target/peers/venv
if [[ ! -x $venv/bin/python ]]; then
    python3 -m venv "$venv"
fi
"$venv/bin/pip" install -q chromadb==1.5.9 numpy
exec "$venv/bin/python" benches/peers/chroma.py "$vectors"
