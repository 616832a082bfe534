#!/usr/bin/env bash
# Keeps the records of finished runs in the repository, under results/EXPERIMENT/<run folder name>/: every .json, .jsonl
# and .md file of the run and of its sub-runs (configuration, each evaluation net's accuracy, metrics, tables, the random
# baseline), not the images or checkpoints. Run folders live on one machine; with these records `mim4dd compare` and
# `mim4dd paired` recompute a docs/results.md row on a fresh clone, and a run made later pairs net by net with them.
# Usage: scripts/record.sh EXPERIMENT RUN...
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
if [ $# -lt 2 ]; then echo "usage: scripts/record.sh EXPERIMENT RUN..." >&2; exit 2; fi
experiment=$1; shift
for run in "$@"; do
  if [ ! -f "$run/config.json" ]; then echo "$run: no config.json; pass a finished run folder" >&2; exit 2; fi
  dest="$root/results/$experiment/$(basename "$run")"
  rm -rf "$dest.tmp" && mkdir -p "$dest.tmp"
  (cd "$run" && find . -type f \( -name '*.json' -o -name '*.jsonl' -o -name '*.md' \) -size -2M -print0 \
    | xargs -0 -I{} cp --parents {} "$dest.tmp/")
  rm -rf "$dest" && mv "$dest.tmp" "$dest"
  echo "recorded $run -> results/$experiment/$(basename "$run")"
done
