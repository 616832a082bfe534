#!/usr/bin/env bash
# DM, DC, DSA and BPTT, each alone and with --mim, at a reduced budget (docs/results.md, "Other methods"): fewer
# iterations and real images per step than the papers, and a quick evaluation (3 nets, E = 300, DSA) for every row.
# Every run is a resumable run directory: re-running this script continues where it stopped.
# Usage: scripts/methods.sh DATASET OUT_DIR GROUP...   DATASET: mnist or cifar10 (no ZCA, as the DC/DSA/DM papers);
#        GROUP: dm1 dm10 dc1 dc10 dsa1 dsa10 bptt1 bptt10   (threads: $MIM4DD_THREADS)
set -euo pipefail
dataset=${1:?dataset, mnist or cifar10}; out=${2:?output folder}; shift 2
mim4dd=${MIM4DD:-"$(dirname "$0")/../mim4dd"}
common=(--dataset "$dataset" --eval-every 0 --eval-repeats 3 --eval-epochs 300 --checkpoint-every 10 --seed 0)
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
run() { local name=$1 method=$2; shift 2; distill_run "$out/$name" "$method" "${common[@]}" "$@"; }  # name, method, flags...
pair() {  # name, method, flags...: the method alone, then with MIM (λ 0.1, τ 0.1) at the same budget and seed
  local name=$1; shift
  run "$name" "$@"
  run "$name-mim" "$@" --mim --lambda 0.1 --tau 0.1 --mim-warmup 0   # as the first rows ran, before the heads warm-up existed
}
for group in "$@"; do
  case $group in
    dm1)    pair dm-ipc1 dm --ipc 1 --iterations 400 --batch-real 64 ;;
    dm10)   pair dm-ipc10 dm --ipc 10 --iterations 1000 --batch-real 64 ;;
    dc1)    pair dc-ipc1 dc --ipc 1 --iterations 200 --batch-real 64 ;;
    dc10)   pair dc-ipc10 dc --ipc 10 --iterations 20 --batch-real 64 ;;
    dsa1)   pair dsa-ipc1 dsa --ipc 1 --iterations 200 --batch-real 64 --pix-init real ;;
    dsa10)  pair dsa-ipc10 dsa --ipc 10 --iterations 10 --batch-real 64 --pix-init real ;;
    bptt1)  pair bptt-ipc1 bptt --ipc 1 --iterations 300 ;;
    bptt10) pair bptt-ipc10 bptt --ipc 10 --iterations 100 ;;
    *) echo "unknown group $group (dm1 dm10 dc1 dc10 dsa1 dsa10 bptt1 bptt10)" >&2; exit 2 ;;
  esac
done
