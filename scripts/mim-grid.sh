#!/usr/bin/env bash
# The MIM estimator's grid of docs/results.md ("Estimator ablations and the λ / τ grid"): MTT and MIM4DD on one store,
# preset, budget and distillation seed, each row changing one flag from MIM4DD's defaults; 10 nets each (DSA-300 at the
# learned lr), paired with the default and with MTT. Plan, fixed before the runs: the defaults stay unless a row's
# paired difference against the default has its 95 % interval above 0; one seed, so the rows describe, not claim.
# Rows: mtt, default, flat, shared, supcon, bank (a memory of 64 real embeddings per class), tau0.07, tau0.2, tau0.5
# (balanced λ), l0.1 … l1.0 (fixed λ, no balance).
# Usage: scripts/mim-grid.sh EXPERTS OUT PRESET ITERATIONS MAX_START_EPOCH [ROW...] [-- extra distill flags]
# e.g. MNIST IPC 10 on the quickstart store: scripts/mim-grid.sh runs/quickstart/experts runs/grid10 mnist-ipc10 60 3 -- --syn-steps 10
# Resumable: run it again to continue; finished runs are skipped. $MIM4DD (default ./mim4dd) is the CLI.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
mim4dd=${MIM4DD:-$root/mim4dd}
source "$root/scripts/lib.sh"
if [ $# -lt 5 ]; then echo "usage: scripts/mim-grid.sh EXPERTS OUT PRESET ITERATIONS MAX_START_EPOCH [ROW...] [-- flags]" >&2; exit 2; fi
experts=$1 out=$2 preset=$3 iterations=$4 max_start=$5; shift 5
rows=(); while [ $# -gt 0 ] && [ "$1" != -- ]; do rows+=("$1"); shift; done; [ $# -gt 0 ] && shift
[ ${#rows[@]} -gt 0 ] || rows=(mtt default flat shared supcon bank tau0.07 tau0.2 tau0.5 l0.1 l0.2 l0.4 l0.6 l0.8 l1.0)
common=(--preset "$preset" --experts "$experts" --max-start-epoch "$max_start" --iterations "$iterations" --eval-every 0
  --eval-repeats 10 --eval-epochs 300 --checkpoint-every 10 --seed 0 "$@")
for row in "${rows[@]}"; do
  case $row in
    mtt) distill_run "$out/mtt" mtt "${common[@]}" ;;
    default) distill_run "$out/default" mim4dd "${common[@]}" ;;
    flat) distill_run "$out/flat" mim4dd "${common[@]}" --mim-features flat ;;
    shared) distill_run "$out/shared" mim4dd "${common[@]}" --mim-shared-heads ;;
    supcon) distill_run "$out/supcon" mim4dd "${common[@]}" --mim-critic supcon ;;
    bank) distill_run "$out/bank" mim4dd "${common[@]}" --mim-bank 64 ;;
    tau*) distill_run "$out/$row" mim4dd "${common[@]}" --tau "${row#tau}" ;;
    l*) distill_run "$out/$row" mim4dd "${common[@]}" --mim-balance 0 --lambda "${row#l}" ;;
    *) echo "unknown row $row (mtt, default, flat, shared, supcon, bank, tauT, lL)" >&2; exit 2 ;;
  esac
  if [ "$row" != mtt ] && [ "$row" != default ] && [ -d "$out/default" ]; then
    "$mim4dd" paired "$out/default" "$out/$row" --output "$out/paired-default-$row.md" || true
  fi
  if [ "$row" != mtt ] && [ -d "$out/mtt" ]; then "$mim4dd" paired "$out/mtt" "$out/$row" --output "$out/paired-mtt-$row.md" || true; fi
done
