#!/usr/bin/env bash
# The sweep behind results/: tune BoE on the validation split, then the quality-vs-compute frontier
# on the test split (touched once per policy spec; reruns skip finished cells).
#
#   bash benchmarks/pareto_sweep.sh            # sudoku, then kjv-infill
#   TASKS=sudoku bash benchmarks/pareto_sweep.sh
#
# One process, one thread (the numbers in the README came from this on a shared 2-core CPU).
# On a GPU box, prefix the python commands with `accelerate launch --num_processes N -m` instead
# of `python -m` (see docs/benchmarks.md).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-python}
TASKS=${TASKS:-"sudoku kjv-infill"}
BASE="random confidence margin entropy lookahead:r=4 lookahead:r=8 boe boe:linearize_at=surrogate"

best_spec() { $PY -c "import json,sys; print(json.load(open(sys.argv[1]))['best_spec'])" "$1"; }

for task in $TASKS; do
  case $task in
    sudoku)
      TUNE_BUDGETS="12 24"; BUDGETS="12 24 48"; TUNE_LIMIT=100; LIMIT=200; BS=100
      GRID=(r=8,32 rho=0.125,0.5,1.0 gamma=0,0.5,2 lam=0,1 h_max=0.1,1.0 tau_s=0.5,2 linearize_at=surrogate) ;;
    kjv-infill)
      # spans are ~15 tokens: with the default r = max(8, 4b) every masked token is a candidate
      # and nothing is left to probe (BoE falls back to confidence), so the grid tries small r.
      TUNE_BUDGETS="8 16"; BUDGETS="2 4 8 16"; TUNE_LIMIT=200; LIMIT=200; BS=100
      GRID=(r=2,4 rho=0.5,1.0 gamma=0,2 lam=0,1 linearize_at=surrogate) ;;
    *) echo "unknown task $task" >&2; exit 2 ;;
  esac
  $PY -m boe_core.bench tune --task "$task" --split val --limit $TUNE_LIMIT --budgets $TUNE_BUDGETS --batch-size $BS --grid "${GRID[@]}"
  TUNED=$(best_spec "results/${task}/tuned_val.json")
  $PY -m boe_core.bench pareto --task "$task" --split test --limit $LIMIT --budgets $BUDGETS --batch-size $BS \
      --policies $BASE "$TUNED"
done
