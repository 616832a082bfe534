#!/usr/bin/env bash
# Where an MTT iteration spends its time: Linux perf samples of `mim4dd bench distill`, summed by shared library
# (LibTorch vs oneDNN's JIT kernels vs .NET) and by function. Needs perf (Debian: apt install linux-perf).
# Usage: bench/profile.sh [extra `bench distill` options]   → bench/results/profile-<utc time>.txt (+ .json)
set -euo pipefail
cd "$(dirname "$0")/.."
command -v perf >/dev/null || { echo "bench/profile.sh: perf not found; install it (Debian: apt install linux-perf)" >&2; exit 2; }
./mim4dd --help >/dev/null                      # build outside the profile
out=bench/results/profile-$(date -u +%Y%m%d-%H%M%S)
# .NET writes /tmp/perf-<pid>.map so perf can name JIT-compiled C#; oneDNN's generated kernels stay "[unknown]".
DOTNET_PerfMapEnabled=1 perf record -F 199 -o "$out.data" -- ./mim4dd bench distill --method mtt --iterations 1 --output "$out.json" "$@"
set +e +o pipefail                              # `head` closes the pipe early: not an error
{
  echo "# perf samples of: ./mim4dd bench distill --method mtt --iterations 1 $*"
  echo "## by shared object"
  perf report -i "$out.data" --sort dso --stdio 2>/dev/null | grep -v '^$'
  echo "## by function (top 60)"
  perf report -i "$out.data" --sort dso,sym --stdio 2>/dev/null | grep -v '^#' | grep -v '^$' | cut -c1-220 | head -60
} > "$out.txt"
rm -f "$out.data"
echo "wrote $out.txt and $out.json"
