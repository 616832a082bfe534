#!/usr/bin/env bash
# Does `mim4dd mi` rank a dataset's sets as their accuracy does (issue 27; docs/results.md "Does the bound rank sets")?
# CIFAR-10 at one IPC, the sets this tool makes, from weakest to strongest by the papers: random real (3 selections),
# herding, DM (1,000 iterations, 64 real images per class), MTT's starting set (random real in ZCA space) and MTT
# (the cifar10-ipcN preset, T⁺ 2 at IPC 1 and 3 at IPC 10, as many iterations as docs/results.md's MTT row). Each set
# evaluated on 3 ConvNet-3 nets, DSA-300 at its lr; then its bound with one feature network for all (expert 0 of
# EXPERTS at its last epoch; pixel-space sets are moved into its ZCA space), `mi` defaults, seed 0; then one `compare`
# table with Spearman's ρ. Plan fixed before running: the bound "ranks sets" if ρ ≥ 0.8 over the sets.
# Resumable: finished runs, evaluations and estimates are skipped. $MIM4DD (default ./mim4dd) is the CLI.
# Usage: scripts/mi-rank.sh EXPERTS OUT [IPC]   (IPC 1 or 10, default 10)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
mim4dd=${MIM4DD:-$root/mim4dd}
source "$root/scripts/lib.sh"
if [ $# -lt 2 ]; then echo "usage: scripts/mi-rank.sh EXPERTS OUT [IPC]" >&2; exit 2; fi
experts=$1 out=$2 ipc=${3:-10}
case $ipc in
  1) mtt=(--max-start-epoch 2) iterations=300 ;;
  10) mtt=(--max-start-epoch 3) iterations=100 ;;
  *) echo "IPC $ipc: this script has the settings of IPC 1 and 10" >&2; exit 2 ;;
esac
protocol=(--eval-every 0 --eval-repeats 3 --eval-epochs 300 --checkpoint-every 10 --seed 0)
coreset() {  # name, method, seed
  [ -f "$out/$1/results.json" ] && { echo "done: $out/$1"; return; }
  "$mim4dd" coreset --method "$2" --dataset cifar10 --ipc "$ipc" --augment dsa --epochs 300 --repeats 3 --seed "$3" --out "$out/$1"
}
for seed in 0 1 2; do coreset "random-s$seed" random "$seed"; done
coreset herding herding 0
distill_run "$out/dm" dm --dataset cifar10 --ipc "$ipc" --iterations 1000 --batch-real 64 "${protocol[@]}"
distill_run "$out/mtt-init" mtt --preset "cifar10-ipc$ipc" "${mtt[@]}" --experts "$experts" --iterations 0 "${protocol[@]}"
distill_run "$out/mtt" mtt --preset "cifar10-ipc$ipc" "${mtt[@]}" --experts "$experts" --iterations "$iterations" "${protocol[@]}"
sets=(random-s0 random-s1 random-s2 herding dm mtt-init mtt)
for set in "${sets[@]}"; do
  [ -f "$out/$set/mi.json" ] || "$mim4dd" mi "$out/$set" --experts "$experts" --seed 0
done
"$mim4dd" compare "${sets[@]/#/$out/}" --output "$out/compare.md"
