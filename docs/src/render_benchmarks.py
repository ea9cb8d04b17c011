"""Rebuild the tables of docs/benchmarks.md from the result files (run from the repository root):

    python docs/src/render_benchmarks.py > /tmp/tables.md
"""
import json
from pathlib import Path

from boe_core.bench.fidelity import markdown
from boe_core.bench.report import markdown_table

R = Path("results")


def fidelity(path):
    return markdown(json.loads(Path(path).read_text())["summary"])


if __name__ == "__main__":
    for title, body in [("fidelity (Sudoku val)", fidelity(R / "sudoku/fidelity_val.json")),
                        ("Sudoku val variants", markdown_table(R / "sudoku/variants_val.csv")),
                        ("Sudoku test", markdown_table(R / "sudoku/pareto_test.csv"))]:
        print(f"### {title}\n\n{body}\n")
