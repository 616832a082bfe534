#!/usr/bin/env bash
# MTT vs MIM4DD and the λ / τ ablations on MNIST IPC 10 with the quickstart's expert store and budget
# (docs/results.md). Every run is a resumable run directory: re-running this script continues where it stopped.
# Group ipc1 runs MTT and MIM4DD at IPC 1 (preset mnist-ipc1: N = 50 steps on all 10 images) on the same store.
# Every MIM4DD run pins --mim-warmup 0: these rows ran before the heads warm-up existed (its default is now 20).
# Usage: scripts/mnist-ablations.sh EXPERTS_DIR OUT_DIR [main|lambda|tau|ipc1]...   (threads: $MIM4DD_THREADS)
set -euo pipefail
experts=${1:?expert store, e.g. runs/quickstart/experts}; out=${2:?output folder}; shift 2
groups=${*:-main lambda tau}
mim4dd=${MIM4DD:-"$(dirname "$0")/../mim4dd"}
ipc10=(--preset mnist-ipc10 --iterations 100 --syn-steps 10 --batch-syn 50 --max-start-epoch 3)
ipc1=(--preset mnist-ipc1 --iterations 200 --max-start-epoch 2)
budget=(--experts "$experts" --eval-every 0 --eval-repeats 5 --eval-epochs 300 --checkpoint-every 10 --seed 0)
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
run() { local name=$1 method=$2; shift 2; distill_run "$out/$name" "$method" "${budget[@]}" "$@"; }  # name, method, flags...
for group in $groups; do
  case $group in
    main)   run mtt mtt "${ipc10[@]}"; run mim4dd-l0.1-t0.1 mim4dd "${ipc10[@]}" --mim-warmup 0 --lambda 0.1 --tau 0.1 ;;
    lambda) for l in 0.2 0.4 0.6 0.8 1.0; do run "mim4dd-l$l-t0.1" mim4dd "${ipc10[@]}" --mim-warmup 0 --lambda "$l" --tau 0.1; done ;;
    tau)    for t in 0.07 0.2 0.5; do run "mim4dd-l0.1-t$t" mim4dd "${ipc10[@]}" --mim-warmup 0 --lambda 0.1 --tau "$t"; done ;;
    ipc1)   run mtt-ipc1 mtt "${ipc1[@]}"; run mim4dd-ipc1-l0.1-t0.1 mim4dd "${ipc1[@]}" --mim-warmup 0 --lambda 0.1 --tau 0.1 ;;
    *) echo "unknown group $group (main, lambda, tau, ipc1)" >&2; exit 2 ;;
  esac
done
