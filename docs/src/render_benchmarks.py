"""Rebuild the tables of docs/benchmarks.md from the result files (run from the repository root):

    python docs/src/render_benchmarks.py > /tmp/tables.md
"""
import json
from pathlib import Path

from boe_core.bench.report import markdown_table

R = Path("results")


def fidelity(path):
    d = json.loads(Path(path).read_text())

    def ci(v, c):
        return f"{v:.2f} [{c[0]:.2f}, {c[1]:.2f}]"

    out = ["| states from | linearisation point | n | median Spearman | mean Spearman | top-1 agreement (chance) | sign agreement |",
           "|---|---|---|---|---|---|---|"]
    for s in d["summary"]:
        src = "confidence" if s["states"].startswith("confidence") else "BoE default"
        out.append(f"| {src} | {s['variant']} | {s['n_states']} | {ci(s['median_spearman'], s['median_spearman_ci'])} "
                   f"| {ci(s['mean_spearman'], s['mean_spearman_ci'])} | {ci(s['top1'], s['top1_ci'])} ({s['chance_top1']:.2f}) "
                   f"| {ci(s['sign'], s['sign_ci'])} |")
    return "\n".join(out)


if __name__ == "__main__":
    for title, body in [("fidelity (Sudoku val)", fidelity(R / "fidelity_sudoku_val.json")),
                        ("Sudoku val variants", markdown_table(R / "sudoku_val_variants.csv")),
                        ("Sudoku test", markdown_table(R / "sudoku_pareto.csv"))]:
        print(f"### {title}\n\n{body}\n")
