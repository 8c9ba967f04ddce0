#!/usr/bin/env bash
# The GPU check, in one call of under 8 minutes on one CUDA GPU:
#   1. the tests that need a GPU (pytest -m gpu: device choice, bf16 autocast, a checkpoint
#      trained on the GPU forecasting the same on the CPU, the app's training and detection);
#   2. benchmarks/throughput.py on cuda (trainer vs floor, profiler shares);
#   3. benchmarks/scale.py (10k / 100k / 1M steps; GPU memory where the GPU is used);
#   then one table of everything.
#
#   bash benchmarks/gpu_check.sh                 # ETTh1 from $DATA, else an ETTh1-shaped table
#   DATA=../shared/data/ett/ETTh1.csv OUT=/tmp/gpu bash benchmarks/gpu_check.sh
#   DRY_RUN=1 bash benchmarks/gpu_check.sh       # on a CPU: the same steps, small, to test it
#
# Each step has its own time limit (the total stays under 8 minutes); a step that fails or runs
# out of time is marked so in the table and the next one runs. Outputs go to $OUT (default: a
# temporary folder): gpu_tests.txt, throughput.json, scale.json, table.md.
set -uo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-python}
OUT=${OUT:-$(mktemp -d)}
mkdir -p "$OUT"
DATA_ARGS=()
if [[ -n "${DATA:-}" && -f "${DATA}" ]]; then DATA_ARGS=(--data "$DATA"); fi
started=$(date +%s)

step() {  # step NAME SECONDS COMMAND...: run with a limit, record its exit status
  local name=$1 limit=$2; shift 2
  echo "== $name (limit ${limit}s)"
  timeout --kill-after=10 "$limit" "$@"
  local rc=$?
  echo "$name $rc $(( $(date +%s) - started ))" >> "$OUT/steps.txt"
  echo "== $name: exit $rc after $(( $(date +%s) - started )) s"
}

: > "$OUT/steps.txt"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader \
  > "$OUT/gpu.txt" 2>&1 || echo "nvidia-smi unavailable" > "$OUT/gpu.txt"
$PY - > "$OUT/env.txt" 2>&1 <<'EOF'
import torch
print(f"torch {torch.__version__}, CUDA {torch.version.cuda}, cuDNN "
      f"{torch.backends.cudnn.version()}, available: {torch.cuda.is_available()}")
if not torch.cuda.is_available():
    raise SystemExit("no CUDA device: the GPU check cannot run here")
print(torch.cuda.get_device_name(0))
EOF
env_rc=$?
cat "$OUT/gpu.txt" "$OUT/env.txt"
DEVICE=cuda SIZES=(10000 100000 1000000) EPOCHS=2
if [[ -n "${DRY_RUN:-}" ]]; then
  DEVICE=cpu SIZES=(10000) EPOCHS=1
elif [[ $env_rc -ne 0 ]]; then
  echo "no CUDA GPU here; nothing else runs"
  exit 2
fi

step gpu-tests 150 $PY -m pytest -q -m gpu tests/test_gpu.py -p no:randomly -rA \
  -o addopts="-p no:cacheprovider" > "$OUT/gpu_tests.txt" 2>&1
tail -n 15 "$OUT/gpu_tests.txt"
step throughput 150 $PY benchmarks/throughput.py --device $DEVICE --epochs $EPOCHS --repeats 2 \
  "${DATA_ARGS[@]}" --json "$OUT/throughput.json"
step scale 140 $PY benchmarks/scale.py --sizes "${SIZES[@]}" --repeats 1 \
  --json "$OUT/scale.json"

$PY - "$OUT" <<'EOF' | tee "$OUT/table.md"
import json, sys, time
from pathlib import Path

out = Path(sys.argv[1])
steps = {l.split()[0]: l.split()[1:] for l in (out / "steps.txt").read_text().splitlines()}
gpu = (out / "gpu.txt").read_text().strip()
env = ((out / "env.txt").read_text().strip().splitlines() or ["?"])[0]
tests = (out / "gpu_tests.txt").read_text().strip().splitlines() if (out / "gpu_tests.txt").exists() else []
summary = next((l for l in reversed(tests) if any(w in l for w in (" passed", " failed", " error", " skipped"))), "no result")
print(f"# GPU check, {time.strftime('%Y-%m-%d %H:%M')}: {gpu}; {env}\n")
print("| check | result |")
print("| --- | --- |")
for name in ("gpu-tests", "throughput", "scale"):
    rc, secs = steps.get(name, ["not run", "-"])
    state = "ok" if rc == "0" else ("out of time" if rc in ("124", "137") else f"exit {rc}")
    print(f"| {name} ({secs} s) | {state} |")
print(f"| GPU tests | {summary.strip('= ')} |")
for line in tests:
    if line.startswith(("PASSED", "FAILED", "ERROR", "SKIPPED")):
        print(f"| | {line} |")
tp = out / "throughput.json"
if tp.exists():
    t = json.loads(tp.read_text())
    for r in t["throughput"]:
        print(f"| throughput, {r['inputs']} input(s), {r['device']} | trainer "
              f"{r['trainer_us']:.1f} µs/window, floor {r['floor_us']:.1f} µs/window, ratio "
              f"**{r['ratio']:.3f}** (target <= 1.10), validation {100 * r['validation_share']:.1f}% |")
    for r in t["profile"]:
        parts = ", ".join(f"{k} {100 * r[k]:.1f}%" for k in
                          ("nn.LSTM", "attention", "gate+norm", "head", "loss", "optimizer", "other"))
        print(f"| step shares, {r['inputs']} input(s) ({r['ms_per_step']:.2f} ms/step) | {parts} |")
sc = out / "scale.json"
if sc.exists():
    for r in json.loads(sc.read_text()):
        total = r["trace_s"] + r["detect_raw_s"] + r["detect_combined_s"]
        gpu_mb = f", GPU peak {r['gpu_peak_mb']:.0f} MB" if "gpu_peak_mb" in r else ""
        csv = (f"; CSV {r['csv_mb']:.0f} MB read {r['read_csv_s']:.2f} s + prepare "
               f"{r['prepare_csv_s']:.2f} s") if "read_csv_s" in r else ""
        print(f"| scale, {r['steps']:,} steps | trace {r['trace_s']:.2f} s (stride {r['stride']}), "
              f"detect {r['detect_raw_s']:.2f} / {r['detect_combined_s']:.2f} s, total "
              f"{total:.2f} s, peak RSS {r['peak_rss_mb']:.0f} MB{gpu_mb}{csv} |")
EOF
echo "(outputs in $OUT; $(( $(date +%s) - started )) s in all)"
