#!/usr/bin/env bash
# GPU check runner, on a borrowed GPU machine that has Python with PyTorch's CUDA 13 and cuDNN libraries but no Bun,
# no npm and no network (bench/gpu/README.md, BENCHMARKS.md "GPU check"). bench/gpu/pack.ts made the parts.
#   bash bench/gpu/gpu-check.sh receive   checks the parts that arrived in .gpu-parts/ against SHA256SUMS; says how many are missing
#   bash bench/gpu/gpu-check.sh unpack    once all are there: unpacks them into the repository (node_modules/, .gpu-check/bin/bun)
#   bash bench/gpu/gpu-check.sh libraries prints the folders of PyTorch's pip packages that `run` puts on LD_LIBRARY_PATH
#   bash bench/gpu/gpu-check.sh run       unpacks, points the loader at PyTorch's CUDA/cuDNN libraries, runs test/gpu and
#                                         `bun run bench` on the CUDA provider, and writes the results into $OUT
# Settings: GPU_CHECK_SECONDS (470: the whole run's budget), GPU_CHECK_TASKS (the benchmark's tasks, in order),
# GPU_CHECK_LIB_DIRS (folders searched before PyTorch's), PYTHON (python3).
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
PARTS="$ROOT/.gpu-parts"
WORK="$ROOT/.gpu-check"
RESULTS="${OUT:-$WORK/results}"
# The benchmark tasks run, in order (bench/tasks.ts names them).
GPU_CHECK_TASKS="${GPU_CHECK_TASKS:-object-detection instance-segmentation classification rfdetr-detection}"
BUDGET="${GPU_CHECK_SECONDS:-470}"
PY="${PYTHON:-$(command -v python3 || command -v python || echo python3)}"
STARTED=$SECONDS

log() { printf '[gpu-check %4ds] %s\n' "$((SECONDS - STARTED))" "$*"; }

# The part names SHA256SUMS lists, in order.
listed_parts() { awk '{ print $2 }' "$PARTS/SHA256SUMS"; }

# Checks the parts present; prints "<present> of <total>"; fails on a corrupt part or a missing SHA256SUMS.
receive() {
  if [ ! -f "$PARTS/SHA256SUMS" ]; then
    echo "no .gpu-parts/SHA256SUMS: carry it with every part"
    return 1
  fi
  if ! (cd "$PARTS" && sha256sum --quiet --check --ignore-missing SHA256SUMS); then
    echo "a part is corrupt: carry it again"
    return 1
  fi
  local total=0 present=0 part
  while read -r part; do
    total=$((total + 1))
    if [ -f "$PARTS/$part" ]; then present=$((present + 1)); fi
  done < <(listed_parts)
  echo "$present of $total parts received and intact"
  [ "$present" -eq "$total" ] && echo "all parts are here: run bash bench/gpu/gpu-check.sh run"
  return 0
}

# Unpacks the concatenated parts into the repository, once per set of parts.
unpack() {
  receive || return 1
  local part
  while read -r part; do
    if [ ! -f "$PARTS/$part" ]; then
      echo "cannot unpack yet: $part has not arrived"
      return 1
    fi
  done < <(listed_parts)
  if cmp -s "$PARTS/SHA256SUMS" "$WORK/unpacked.sha256"; then
    log "already unpacked"
    return 0
  fi
  mkdir -p "$WORK"
  log "unpacking $(listed_parts | wc -l) parts"
  # Python's tarfile reads xz without an xz binary, which the machine may lack.
  local parts
  mapfile -t parts < <(listed_parts)
  (cd "$PARTS" && cat "${parts[@]}") | "$PY" -c '
import sys, tarfile
with tarfile.open(fileobj=sys.stdin.buffer, mode="r|xz") as archive:
    try:
        archive.extractall(sys.argv[1], filter="tar")
    except TypeError:
        archive.extractall(sys.argv[1])
' "$ROOT" || return 1
  cp "$PARTS/SHA256SUMS" "$WORK/unpacked.sha256"
  log "unpacked: $("$WORK/bin/bun" --version 2>&1 | head -n 1) in .gpu-check/bin"
}

# Folders of PyTorch's pip packages that hold the libraries the GPU providers load (CUDA 13, cuDNN 9, TensorRT 10).
pytorch_library_dirs() {
  "$PY" - <<'PYTHON'
import os, sys
found = []
for base in sys.path:
    for relative in ("nvidia/cu13/lib", "nvidia/cudnn/lib", "tensorrt_libs"):
        path = os.path.join(base, relative)
        if os.path.isdir(path) and path not in found:
            found.append(path)
print(":".join(found))
PYTHON
}

# The folder of LD_LIBRARY_PATH holding $1, if any.
dir_with() {
  local dir dirs
  IFS=: read -r -a dirs <<< "${LD_LIBRARY_PATH:-}"
  for dir in "${dirs[@]}"; do
    if [ -n "$dir" ] && [ -e "$dir/$1" ]; then echo "$dir"; return 0; fi
  done
  return 1
}

remaining() { echo $((BUDGET - (SECONDS - STARTED))); }

run() {
  unpack || return 1
  mkdir -p "$RESULTS"
  export PATH="$WORK/bin:$PATH"
  local pytorch
  pytorch="$(pytorch_library_dirs)"
  export LD_LIBRARY_PATH="${GPU_CHECK_LIB_DIRS:+$GPU_CHECK_LIB_DIRS:}${pytorch}${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
  local runtime="$ROOT/node_modules/.onnxruntime-gpu"
  local summary="$RESULTS/summary.md"
  {
    echo "# GPU check $(date -u +%Y-%m-%dT%H:%M:%SZ)"
    echo
    echo '```'
    nvidia-smi --query-gpu=name,memory.total,driver_version,compute_cap --format=csv 2>&1 || echo "nvidia-smi failed"
    echo "GPUs: $(nvidia-smi -L 2>/dev/null | wc -l)"
    echo "CPU: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); memory: $(free -g | awk '/Mem:/ { print $2 }') GiB"
    echo "Bun $(bun --version); ONNX Runtime: $(tr -d '\n ' < "$runtime/setup-gpu.json" 2>/dev/null)"
    echo "Python: $("$PY" --version 2>&1); torch: $("$PY" -c 'import torch; print(torch.__version__, "CUDA", torch.version.cuda, "cuDNN", torch.backends.cudnn.version())' 2>&1 | tail -n 1)"
    echo "LD_LIBRARY_PATH=$LD_LIBRARY_PATH"
    echo
    for library in libcuda.so.1 libcudart.so.13 libcublas.so.13 libcublasLt.so.13 libcurand.so.10 libcufft.so.12 libnvrtc.so.13 libcudnn.so.9 libnvinfer.so.10 libnvonnxparser.so.10; do
      printf '%-24s %s\n' "$library" "$(dir_with "$library" || ldconfig -p 2>/dev/null | awk -v l="$library" '$1 == l { print $NF; exit }' | grep . || echo 'not found')"
    done
    echo
    echo "ldd libonnxruntime_providers_cuda.so, libonnxruntime_providers_tensorrt.so (not found):"
    ldd "$runtime/libonnxruntime_providers_cuda.so" "$runtime/libonnxruntime_providers_tensorrt.so" 2>&1 | grep -E 'not found|^/' || true
    echo '```'
  } > "$summary" 2>&1
  cat "$summary"

  # Tell the tests where cuDNN is, when it can be hidden from a server (not in the system's library cache), and how
  # many GPUs there are; TensorRT's tests run where its libraries are found.
  local cudnn_dir=""
  if ! ldconfig -p 2>/dev/null | grep -q 'libcudnn\.so\.9 '; then cudnn_dir="$(dir_with libcudnn.so.9 || true)"; fi
  local tensorrt=0
  if dir_with libnvinfer.so.10 > /dev/null || ldconfig -p 2>/dev/null | grep -q 'libnvinfer\.so\.10 '; then tensorrt=1; fi

  log "building the fixture models"
  (cd "$ROOT" && bun run fixtures > "$RESULTS/fixtures.log" 2>&1) || log "fixtures failed: see fixtures.log"

  log "test/gpu (at most 150 s)"
  (cd "$ROOT" && GPU_CHECK=1 GPU_CHECK_CUDNN_DIR="$cudnn_dir" GPU_CHECK_TENSORRT="$tensorrt" GPU_CHECK_GPU_COUNT="$(nvidia-smi -L 2>/dev/null | wc -l)" \
    timeout -k 5 150 bun test --timeout 120000 test/gpu > "$RESULTS/tests.log" 2>&1)
  local tests=$?
  log "test/gpu exit $tests: $(grep -E '^ *[0-9]+ (pass|fail|skip)$' "$RESULTS/tests.log" | xargs)"

  # One `bun run bench` per task, the most important first, so that running out of time loses one task, not all; the
  # memory soak runs with the first. Short windows: the whole run must fit one call to the machine.
  local task seconds soak first=1
  rm -rf "$WORK/bench"
  : > "$RESULTS/bench.log"
  : > "$RESULTS/bench-report.md"
  echo "{" > "$RESULTS/bench-results.json"
  for task in $GPU_CHECK_TASKS; do
    seconds=$(( $(remaining) - 15 ))
    if [ "$seconds" -lt 45 ]; then
      log "no time left for $task"
      continue
    fi
    soak="soak"
    [ "$first" -eq 1 ] && soak=""
    log "bun run bench --tasks $task on the CUDA provider (at most $seconds s)"
    (cd "$ROOT" && EXECUTION_PROVIDERS=cuda,cpu timeout -k 5 "$seconds" bun run bench --tasks "$task" --out "$WORK/bench/$task" \
      --concurrency 1,8,32,128 --seconds 4 --warmup 1 --bare-seconds 2 --baseline-concurrency 1,32 --soak-requests 3000 \
      --skip "open-loop${soak:+,$soak}" >> "$RESULTS/bench.log" 2>&1)
    log "bench $task exit $?"
    if [ -f "$WORK/bench/$task/latest.md" ]; then
      cat "$WORK/bench/$task/latest.md" >> "$RESULTS/bench-report.md"
      [ "$first" -eq 1 ] || echo "," >> "$RESULTS/bench-results.json"
      printf '"%s": ' "$task" >> "$RESULTS/bench-results.json"
      cat "$WORK/bench/$task/latest.json" >> "$RESULTS/bench-results.json"
      first=0
    fi
  done
  echo "}" >> "$RESULTS/bench-results.json"
  log "done in $((SECONDS - STARTED)) s; results in $RESULTS: $(cd "$RESULTS" && echo *)"
  {
    echo
    echo "test/gpu exit $tests; total $((SECONDS - STARTED)) s"
  } >> "$summary"
  return "$tests"
}

case "${1:-}" in
  receive) receive ;;
  unpack) unpack ;;
  libraries) pytorch_library_dirs ;;
  run) run ;;
  *)
    echo "usage: bash bench/gpu/gpu-check.sh receive|unpack|libraries|run" >&2
    exit 2
    ;;
esac
