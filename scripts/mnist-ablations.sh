#!/usr/bin/env bash
# MTT vs MIM4DD and the λ / τ ablations on MNIST IPC 10 with the quickstart's expert store and budget
# (docs/results.md). Every run is a resumable run directory: re-running this script continues where it stopped.
# Usage: scripts/mnist-ablations.sh EXPERTS_DIR OUT_DIR [lambda|tau|main]...   (threads: $MIM4DD_THREADS)
set -euo pipefail
experts=${1:?expert store, e.g. runs/quickstart/experts}; out=${2:?output folder}; shift 2
groups=${*:-main lambda tau}
mim4dd=${MIM4DD:-"$(dirname "$0")/../mim4dd"}
budget=(--preset mnist-ipc10 --experts "$experts" --iterations 100 --syn-steps 10 --batch-syn 50 --max-start-epoch 3
        --eval-every 0 --eval-repeats 5 --eval-epochs 300 --checkpoint-every 10 --seed 0)
run() {  # name, extra flags...
  local dir="$out/$1"; shift
  if [ -f "$dir/syn.safetensors" ]; then echo "done: $dir"; return; fi
  local resume=(); [ -f "$dir/checkpoint.safetensors" ] && resume=(--resume)
  "$mim4dd" distill "${budget[@]}" "$@" --out "$dir" "${resume[@]}"
}
for group in $groups; do
  case $group in
    main)   run mtt --method mtt; run mim4dd-l0.1-t0.1 --method mim4dd --lambda 0.1 --tau 0.1 ;;
    lambda) for l in 0.2 0.4 0.6 0.8 1.0; do run "mim4dd-l$l-t0.1" --method mim4dd --lambda "$l" --tau 0.1; done ;;
    tau)    for t in 0.07 0.2 0.5; do run "mim4dd-l0.1-t$t" --method mim4dd --lambda 0.1 --tau "$t"; done ;;
    *) echo "unknown group $group (main, lambda, tau)" >&2; exit 2 ;;
  esac
done
