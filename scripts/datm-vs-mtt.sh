#!/usr/bin/env bash
# The DATM comparison of docs/results.md ("Soft labels and DATM"): per distillation seed, at one budget (the MTT preset's
# student steps N and iteration count, the same experts): MTT, MTT + soft labels, DATM, DATM + MIM (the MIM defaults of
# the day); each set evaluated on 5 nets (DSA, 1000 epochs, its learned lr, the nets' seeds shared by the four), then its
# random baseline (`eval --random`) and, for soft-label sets, its hard-label accuracy (`eval --labels hard`) for compare's
# IOR / HLR / LRS; paired differences against MTT with 95 % intervals.
# HLR's reference: with `full` among the methods, ConvNet-3 on the whole CIFAR-10 training set with hard labels (`train`,
# 30 epochs, DSA, seed 0, without ZCA; about 3 h at one thread; a stop keeps its last epoch) in OUT/full-data, a row of
# compare once it has finished.
# Usage: scripts/datm-vs-mtt.sh EXPERTS OUT IPC ITERATIONS "SEEDS" [METHODS]   (METHODS default: mtt mtt-soft datm datm-mim
# full)
# The experts' epochs bound the start epochs: 5-epoch experts allow T⁺ ≤ 4 with M = 2 (IPC 1: MTT's preset T⁺ 2, DATM's
# 4; IPC 10: MTT T⁺ 3, DATM's window 2 → 4 over the first tenth of the iterations, as DATM's 10 → 20 over 1000 of 10000).
# Resumable: run it again to continue; finished runs and evaluations are skipped. $MIM4DD (default ./mim4dd) is the CLI.
# BASELINES=later distils and evaluates the sets only (the paired differences come first); the same command without it
# then adds the random baselines and hard-label evaluations.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
mim4dd=${MIM4DD:-$root/mim4dd}
source "$root/scripts/lib.sh"
experts=$1 out=$2 ipc=$3 iterations=$4 seeds=$5 methods=${6:-mtt mtt-soft datm datm-mim full}
case $ipc in
  1) steps=50 mtt=(--max-start-epoch 2) lry=5 window=() ;;
  10) steps=30 mtt=(--max-start-epoch 3) lry=2
      window=(--max-start-epoch 4 --current-max-start-epoch 2 --expansion-iterations $(( iterations / 10 > 0 ? iterations / 10 : 1 ))) ;;
  *) echo "IPC $ipc: this script has the settings of IPC 1 and 10" >&2; exit 2 ;;
esac
common=(--experts "$experts" --iterations "$iterations" --eval-every 0 --eval-repeats 5 --eval-epochs 1000 --checkpoint-every 10)
if [[ " $methods " == *" full "* ]]; then
  "$mim4dd" train --dataset cifar10 --epochs 30 --augment dsa --seed 0 --out "$out/full-data"
fi
full=(); if [ -f "$out/full-data/results.json" ]; then full=("$out/full-data"); fi
for seed in $seeds; do
  for method in $methods; do
    [ "$method" = full ] && continue
    run="$out/$method-ipc$ipc-s$seed"
    case $method in
      mtt) distill_run "$run" mtt --preset "cifar10-ipc$ipc" "${mtt[@]}" "${common[@]}" --seed "$seed" ;;
      mtt-soft) distill_run "$run" mtt --preset "cifar10-ipc$ipc" "${mtt[@]}" --soft-labels --lr-y "$lry" "${common[@]}" --seed "$seed" ;;
      datm) distill_run "$run" datm --preset "cifar10-ipc$ipc" --syn-steps "$steps" "${window[@]}" "${common[@]}" --seed "$seed" ;;
      datm-mim) distill_run "$run" datm --preset "cifar10-ipc$ipc" --syn-steps "$steps" "${window[@]}" --mim "${common[@]}" \
        --seed "$seed" ;;
      *) echo "unknown method $method (mtt, mtt-soft, datm, datm-mim, full)" >&2; exit 2 ;;
    esac
    # The random baseline and the hard-label accuracy, under the final evaluation's protocol (finished nets are kept).
    [ "${BASELINES:-}" = later ] && continue
    "$mim4dd" eval "$run" --random --repeats 5 --epochs 1000
    [ "$method" = mtt ] || "$mim4dd" eval "$run" --labels hard --repeats 5 --epochs 1000
  done
done
"$mim4dd" compare "$out"/*-ipc$ipc-s*/ "${full[@]}" --output "$out/compare-ipc$ipc.md"
for method in $methods; do
  [ "$method" = mtt ] || [ "$method" = full ] && continue
  pairs=(); for seed in $seeds; do pairs+=("$out/mtt-ipc$ipc-s$seed" "$out/$method-ipc$ipc-s$seed"); done
  "$mim4dd" paired "${pairs[@]}" --output "$out/paired-ipc$ipc-$method.md" || true
done
