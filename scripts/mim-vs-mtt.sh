#!/usr/bin/env bash
# The MTT vs MIM4DD comparison of docs/results.md ("MIM4DD against MTT"): for each distillation seed, plain MTT and
# MIM4DD with the default MIM options on the same experts and budget, each evaluated on the same 10 network seeds.
# Usage: scripts/mim-vs-mtt.sh EXPERTS OUT PRESET ITERATIONS MAX_START_EPOCH "SEEDS" [extra distill flags...]
# Resumable: run it again to continue; finished runs are skipped. $MIM4DD (default ./mim4dd) is the CLI.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
mim4dd=${MIM4DD:-$root/mim4dd}
source "$root/scripts/lib.sh"
experts=$1 out=$2 preset=$3 iterations=$4 max_start=$5 seeds=$6; shift 6
for seed in $seeds; do
  for method in mtt mim4dd; do
    distill_run "$out/$method-s$seed" "$method" --preset "$preset" --experts "$experts" --max-start-epoch "$max_start" \
      --iterations "$iterations" --eval-every 0 --eval-repeats 10 --eval-epochs 300 --checkpoint-every 10 --seed "$seed" "$@"
  done
done
