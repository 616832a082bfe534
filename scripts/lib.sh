# Shared by the experiment scripts: one resumable distillation run directory.
# distill_run DIR FLAGS...: skips a finished run, resumes one with a checkpoint, else starts it ($mim4dd: the CLI).
distill_run() {
  local dir=$1; shift
  if [ -f "$dir/syn.safetensors" ]; then echo "done: $dir"; return; fi
  local resume=(); [ -f "$dir/checkpoint.safetensors" ] && resume=(--resume)
  "$mim4dd" distill "$@" --out "$dir" "${resume[@]}"
}
