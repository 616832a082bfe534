#!/usr/bin/env bash
# MIM4DD's headline experiment, CIFAR-100 IPC 10 (MTT's paper: 40.1 %; MIM4DD's own number for it is not checked here
# against its paper), on your CIFAR-100 python folder
# (cifar-100-python: train, test, meta). Every step is resumable: run the same command again to continue.
#   scripts/cifar100-headline.sh DATA_DIR OUT [experts|mtt|mim4dd|compare]...   (default: all four, in order)
# The paper's budget is the default; override it for a CPU: EXPERTS (100) EPOCHS (50 per expert) ITERATIONS (5000)
# NETS (5 evaluation nets) EVAL_EPOCHS (1000) MAX_START (20, must be ≤ EPOCHS − 1) SEED (0) MIM_FLAGS (none: the defaults, λ balanced)
# ARCH (ConvNet: the experts' network, which both runs distil on and evaluate with);
# DISTILL_FLAGS adds flags to both runs (e.g. "--ipc 1" to try the pipeline small first).
# Experts shard over processes or array jobs: SHARD=i/n runs only experts with index % n == i (run "experts" once per
# shard, then the rest once); on a Slurm cluster SLURM_TASKS=n submits the experts as an n-task job array
# (`mim4dd slurm experts`, docs/cluster.md; SLURM_ARGS adds e.g. "--partition cpu --time 12:00:00") and returns: run
# the other steps when squeue shows it done (distill refuses a store that is still missing experts).
# Threads: $MIM4DD_THREADS. docs/performance.md projects the wall time.
set -euo pipefail
usage="usage: scripts/cifar100-headline.sh DATA_DIR OUT [experts|mtt|mim4dd|compare]...  (see the comments at its top)"
case ${1:-} in -h|--help) echo "$usage"; exit 0 ;; "") echo "$usage" >&2; exit 2 ;; esac
data=${1:?CIFAR-100 python folder (cifar-100-python)}; out=${2:?output folder, e.g. runs/cifar100}; shift 2
steps=${*:-experts mtt mim4dd compare}
for step in $steps; do
  case $step in experts|mtt|mim4dd|compare) ;; *) echo "unknown step $step (experts, mtt, mim4dd, compare); $usage" >&2; exit 2 ;; esac
done
mim4dd=${MIM4DD:-"$(dirname "$0")/../mim4dd"}
experts="$out/experts"
# The preset cifar100-ipc10 distils without ZCA (the MTT reference's README), so the experts train without it too.
common=(--dataset cifar100 --data-dir "$data" --preset cifar100-ipc10 --experts "$experts" --iterations "${ITERATIONS:-5000}"
        --max-start-epoch "${MAX_START:-20}" --eval-every 0 --eval-repeats "${NETS:-5}" --eval-epochs "${EVAL_EPOCHS:-1000}"
        --checkpoint-every 10 --seed "${SEED:-0}")
# shellcheck disable=SC2206
common+=(${DISTILL_FLAGS:-})
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
for step in $steps; do
  case $step in
    experts) flags=(--dataset cifar100 --data-dir "$(realpath "$data")" --zca false --arch "${ARCH:-ConvNet}"
                    --num-experts "${EXPERTS:-100}" --train-epochs "${EPOCHS:-50}" --seed 0 --out "$(realpath -m "$experts")")
             if [ -n "${SLURM_TASKS:-}" ]; then
               # shellcheck disable=SC2086
               "$mim4dd" slurm experts --tasks "$SLURM_TASKS" ${SLURM_ARGS:-} -- "${flags[@]}"
               echo "experts submitted as a job array; run the remaining steps when it has finished" >&2
               exit 0
             fi
             "$mim4dd" experts "${flags[@]}" ${SHARD:+--shard "$SHARD"} ;;
    mtt)     distill_run "$out/mtt-ipc10" mtt "${common[@]}" ;;
    # shellcheck disable=SC2086
    mim4dd)  distill_run "$out/mim4dd-ipc10" mim4dd "${common[@]}" ${MIM_FLAGS:-} ;;
    compare) "$mim4dd" compare "$out/mtt-ipc10" "$out/mim4dd-ipc10" --output "$out/compare.md"
             [ "${NETS:-5}" -ge 2 ] && "$mim4dd" paired "$out/mtt-ipc10" "$out/mim4dd-ipc10" ;;
  esac
done
