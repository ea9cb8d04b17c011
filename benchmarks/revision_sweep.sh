#!/usr/bin/env bash
# The revision measurements behind docs/benchmarks.md §7 (one process, one thread each, in order):
#   1. cascade root: sudoku val runs of confidence at 12 steps that end wrong, the rank of their
#      first wrong commit by remask TIS, the exact remask drop and the lowest commit confidence;
#   2. remask TIS fidelity against the exact remask drop, per linearisation point (sudoku val);
#   3. solve rate and forward-equivalents of the revising policies against confidence and BoE:
#      sudoku test at 12 and 24 steps, sudoku6 and arith-cot test at 2 tokens per step, kjv-infill.
# The revising policies' defaults were chosen on val first (results/sudoku/revision_val.csv):
#   python -m boe_core.bench pareto --task sudoku --split val --budgets 12 24 --batch-size 100 \
#     --backward-cost 2.4003 --out results/sudoku/revision_val.csv --policies confidence rcr \
#     remdm:eta=0.02 remdm:eta=0.05 remdm:eta=0.1 "remdm:variant=confidence,eta=0.02" \
#     "remdm:variant=confidence,eta=0.05" "remdm:variant=confidence,eta=0.1" boe \
#     boe-revise:theta=0.5 boe-revise:theta=1 boe-revise:theta=2
#
#   bash benchmarks/revision_sweep.sh            # everything (about 35 minutes on one busy CPU thread)
#   STEPS="cascade fidelity" bash benchmarks/revision_sweep.sh
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-python}
N=${N:-200}    # sudoku test puzzles
NR=${NR:-100}  # sudoku6 / arith-cot test problems (sized to the time the CPU was free)
STEPS=${STEPS:-"cascade sudoku reasoning fidelity kjv"}
export OMP_NUM_THREADS=1 MKL_NUM_THREADS=1
POLICIES=(confidence boe remdm "remdm:variant=confidence" rcr boe-revise)

for s in $STEPS; do
  case $s in
    cascade)
      $PY -m boe_core.bench cascade --task sudoku --split val --budget 12 --policy confidence --exact \
        --out results/sudoku/cascade_val.json ;;
    fidelity)
      $PY -m boe_core.bench fidelity --task sudoku --split val --limit 30 --budget 12 --target remask \
        --trajectory-policy confidence --variants current surrogate "midpoint a=0.5" "quadrature k=2" \
        --out results/sudoku/fidelity_remask_val.json ;;
    sudoku)
      # kappa as in results/sudoku/pareto_test.csv, so forward-equivalents compare with §3
      $PY -m boe_core.bench pareto --task sudoku --split test --limit "$N" --budgets 12 24 --batch-size 100 \
        --threads 1 --backward-cost 2.4003 --no-plot --quiet --out results/sudoku/revision_test.csv \
        --policies "${POLICIES[@]}" ;;
    reasoning)
      $PY -m boe_core.bench table --split test --n "$NR" --tasks sudoku6 arith-cot --tokens-per-step 2 \
        --threads 1 --tag revision --quiet --policies "${POLICIES[@]}" ;;
    kjv)
      $PY -m boe_core.bench pareto --task kjv-infill --split test --limit 100 --budgets 4 8 16 --batch-size 100 \
        --threads 1 --no-plot --quiet --out results/kjv-infill/revision_test.csv --policies "${POLICIES[@]}" ;;
    *) echo "unknown step $s" >&2; exit 2 ;;
  esac
done
