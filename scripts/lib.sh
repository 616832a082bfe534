# Shared by the experiment scripts: one resumable distillation run directory.
# distill_run DIR METHOD FLAGS...: skips a finished run (report.html is written last), resumes one with a checkpoint (a finished
# run whose report failed only rewrites it), else starts it ($mim4dd: the CLI).
distill_run() {
  local dir=$1; shift
  if [ -f "$dir/report.html" ]; then echo "done: $dir"; return; fi
  local resume=(); [ -f "$dir/checkpoint.safetensors" ] && resume=(--resume)
  "$mim4dd" distill "$@" --out "$dir" "${resume[@]}"
}
