"""Markdown tables of a sweep's CSV (for the README and reports)."""
from __future__ import annotations

import json

import pandas as pd


def markdown_table(csv_path, secondary: str | None = "auto") -> str:
    df = pd.read_csv(csv_path) if not isinstance(csv_path, pd.DataFrame) else csv_path
    sec = df["secondary"].map(lambda s: json.loads(s) if isinstance(s, str) and s else {})
    if secondary == "auto":
        secondary = next((k for k in ("cell_accuracy", "token_accuracy", "distinct_2") if sec.map(lambda d: k in d).all()), None)
    metric = df["metric"].iloc[0]
    head = ["policy", "steps", "n", f"{metric} [95% CI]"] + ([secondary] if secondary else []) + [
        "forwards", "backwards", "fwd-equiv", "ms / example"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    order = list(dict.fromkeys(df["policy"]))
    df = df.assign(o_=df["policy"].map(order.index), s_=sec).sort_values(["o_", "steps"])
    for r in df.itertuples():
        ci = f" [{r.quality_lo:.3f}, {r.quality_hi:.3f}]" if pd.notna(r.quality_lo) else ""
        cells = [f"`{r.policy}`", str(int(r.steps)), str(int(r.n)), f"{r.quality:.3f}{ci}"]
        if secondary:
            cells.append(f"{r.s_.get(secondary, float('nan')):.3f}")
        cells += [f"{r.forwards:.1f}", f"{r.backwards:.1f}", f"{r.fwd_equiv:.1f}", f"{r.wall_s_per_example * 1e3:.1f}"]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)
