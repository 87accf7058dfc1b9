#!/usr/bin/env bash
# The one prepared device check (issue 21): what r1repro does on a GPU, in a few minutes.
#
#   bash scripts/gpu_check.sh --download   # here (PyPI reachable): wheels the GPU image lacks -> .whl/
#   bash scripts/gpu_check.sh              # on the device (the `run` tool, carry [".whl"]); on a
#                                          # machine without CUDA the same checks run on the CPU
#
# Checks, each timed and recorded (pass/fail) in $OUT/gpu_check.json (runs/gpu_check/ without $OUT):
#   1. greedy: the rollout loop's greedy output equals transformers' `generate` on the device
#   2. rl-float32, rl-bfloat16: the quickstart recipe, shortened (SFT 60 steps, RL 3 steps), in each dtype
#   3. torchrun: the same RL under `torchrun --nproc_per_node=1` (NCCL on a GPU, gloo on the CPU),
#      drawing the same samples (rewards per step) as the single-process float32 run
# The GPU image has torch with CUDA, transformers and peft, but not r1repro's other dependencies and
# no registry: --download fetches them as wheels for this Python (the device's must match: the
# script says so when pip refuses). datasets is left out (hub loading only; too large to carry).
set -uo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-$(command -v python3)}
[ -x .venv/bin/python ] && [ -z "${PYTHON:-}" ] && PY=.venv/bin/python
DEPS="sympy math-verify pyyaml tqdm pandas matplotlib"

if [ "${1:-}" = "--download" ]; then
    rm -rf .whl && mkdir -p .whl
    "$PY" -m pip download -q --only-binary=:all: -d .whl $DEPS || exit 1
    rm -f .whl/numpy-* .whl/packaging-*  # transformers needs both: the image has them (and 64 MiB is tight)
    echo "wheels in .whl/ for $("$PY" -c 'import sys; print(sys.version.split()[0])'): $(du -sh .whl | cut -f1) (carry limit 64 MiB)"
    exit 0
fi

OUTDIR=${OUT:-runs/gpu_check}
mkdir -p "$OUTDIR"
LOG="$OUTDIR/gpu_check.log"
: > "$LOG"
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
if [ -d .whl ]; then  # install only what is missing; never touch the image's torch
    for mod in sympy math_verify yaml tqdm pandas matplotlib; do
        "$PY" -c "import $mod" 2>/dev/null && continue
        pkg=${mod/_/-}; [ "$mod" = yaml ] && pkg=pyyaml
        "$PY" -m pip install -q --no-index --find-links .whl "$pkg" >>"$LOG" 2>&1 \
            || echo "pip could not install $pkg from .whl (another Python version?)" | tee -a "$LOG"
    done
fi
DEVICE=$("$PY" -c "import torch; print(torch.cuda.get_device_name(0) if torch.cuda.is_available() else 'cpu')")
echo "device: $DEVICE" | tee -a "$LOG"
RESULTS=()

check() {  # check NAME COMMAND...: run, time, record
    local name=$1; shift
    local t0=$SECONDS
    echo "== $name: $*" >>"$LOG"
    if "$@" >>"$LOG" 2>&1; then rc=0; else rc=$?; fi
    echo "$name: $([ $rc = 0 ] && echo ok || echo "FAILED (rc $rc)") in $((SECONDS - t0)) s" | tee -a "$LOG"
    RESULTS+=("{\"check\": \"$name\", \"ok\": $([ $rc = 0 ] && echo true || echo false), \"seconds\": $((SECONDS - t0))}")
}

greedy() {
    "$PY" - <<'EOF'
import torch
from r1repro.config import TinyModelConfig
from r1repro.models import build_tiny_model, train_tokenizer
from r1repro.rollout.hf import HFBackend
from tests.fixtures.models import sharpened

dev = "cuda" if torch.cuda.is_available() else "cpu"
texts = [f"Q: {i} + {j} = ? A: {i + j}" for i in range(30) for j in range(30)]
tok = train_tokenizer(texts, 256)
model = sharpened(build_tiny_model(TinyModelConfig(hidden_size=64, layers=2, heads=4, intermediate_size=128,
                                                   vocab_size=256), tok, seed=0)).to(dev).eval()  # rows that differ
prompts = [f"Q: {i} + {i + 3} = ? A:" for i in range(12)]
run = lambda engine: [[c.ids for c in g] for g in HFBackend(model, tok, batch_size=8, engine=engine).generate(
    prompts, n=2, max_new_tokens=24, temperature=0.0, top_p=1.0, seed=0)]
ours, ref = run("loop"), run("generate")
same = sum(a == b for a, b in zip(ours, ref))
distinct = len({tuple(g[0]) for g in ours})
print(f"greedy loop == generate on {dev}: {same}/{len(prompts)} prompts ({distinct} distinct outputs)")
assert same == len(prompts) and distinct > 1
EOF
}

SHORT=(sft.steps=60 sft.eval_every=0 rl.steps=3 rl.eval_every=0 rl.save_every=3 rl.prompts_per_step=8)
check greedy greedy
check rl-float32 "$PY" -m r1repro.cli run recipes/quickstart.yaml --stages prepare,sft,rl --force \
    --run-dir "$OUTDIR/rl-float32" "${SHORT[@]}" model.dtype=float32
check rl-bfloat16 "$PY" -m r1repro.cli run recipes/quickstart.yaml --stages prepare,sft,rl --force \
    --run-dir "$OUTDIR/rl-bfloat16" "${SHORT[@]}" model.dtype=bfloat16
check torchrun "$PY" -m torch.distributed.run --standalone --nproc_per_node=1 -m r1repro.cli run \
    recipes/quickstart.yaml --stages prepare,sft,rl --force --run-dir "$OUTDIR/torchrun" "${SHORT[@]}"

same_samples() {  # one torchrun rank draws what one process draws: the same rewards, step by step
    "$PY" - "$OUTDIR/rl-float32/rl/metrics.jsonl" "$OUTDIR/torchrun/rl/metrics.jsonl" <<'EOF'
import json, sys
a, b = ([json.loads(l).get("reward/mean") for l in open(p)] for p in sys.argv[1:])
print("reward/mean per step, one process:", a, "torchrun:", b)
assert a == b
EOF
}
check torchrun-same-samples same_samples

ok=$(printf '%s\n' "${RESULTS[@]}" | grep -c '"ok": true')
{
    echo "{\"device\": \"$DEVICE\", \"date\": \"$(date -u +%F)\", \"checks\": ["
    (IFS=,; echo "${RESULTS[*]}")
    echo "]}"
} > "$OUTDIR/gpu_check.json"
echo "$ok/${#RESULTS[@]} checks passed on $DEVICE; $OUTDIR/gpu_check.json, log $LOG"
[ "$ok" = "${#RESULTS[@]}" ]
