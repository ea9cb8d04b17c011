"""Screenshots of revision in the explorer's own render functions and CSS (no server): a remask on
the Sudoku canvas (struck through, with the step the cell came back) and the Cascade view of a
confidence run that ends wrong. Writes docs/explorer-remask.png and docs/explorer-cascade.png.

    python scripts/revision_screenshots.py      # needs /usr/bin/chromium (Playwright drives it)
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from app import cascade as C  # noqa: E402
from app.canvas import canvas_html, legend_html  # noqa: E402
from app.session import Session  # noqa: E402
from app.style import CSS  # noqa: E402
from boe_core import generate, load_model  # noqa: E402
from boe_core.tasks.views import get_view  # noqa: E402

CHROMIUM = "/usr/bin/chromium"


def page(body: str) -> str:
    return f"<html><head><meta charset='utf-8'><style>{CSS}\nbody{{font-family:Inter,system-ui,sans-serif;" \
           f"padding:16px;background:#fff;width:900px}}</style></head><body>{body}</body></html>"


def shoot(html: str, out: Path, height: int) -> None:
    from playwright.sync_api import sync_playwright

    tmp = out.with_suffix(".html")
    tmp.write_text(html)
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=["--headless", "--no-sandbox", "--disable-gpu"])
        pg = b.new_page(viewport={"width": 940, "height": height})
        pg.goto(tmp.as_uri())
        pg.wait_for_timeout(1500)
        pg.screenshot(path=str(out), full_page=True)
        b.close()
    tmp.unlink()


def main():
    torch.set_num_threads(1)
    m = load_model("sudoku")
    view = get_view("sudoku")
    rows = [json.loads(s) for s in (ROOT / "assets/data/sudoku/heldout_val.jsonl").read_text().splitlines()]
    for row in rows:  # the first val puzzle confidence gets wrong at 12 steps
        plan = view.build_canvas(m, {"puzzle": row["puzzle"]})
        plan.meta["solution"] = row["solution"]
        wrong = generate(m, canvas=plan.ids, steps=12, policy="confidence", meta=plan.meta)
        if not view.solved(wrong, wrong.num_steps - 1) and view.first_wrong(wrong)["step"] < 9:
            break
    revised = generate(m, canvas=plan.ids, steps=12, policy="remdm", variant="confidence", meta=plan.meta)
    k = next(r.step for r in revised.records if r.remasked[0].any())
    body = (f"<h3>ReMDM (confidence schedule), step {k}: struck-through cells were taken back "
            f"(↺ the step they came back)</h3>" + canvas_html(revised, k, view="sudoku")
            + legend_html("none", 0, 1, "sudoku"))
    shoot(page(body), ROOT / "docs" / "explorer-remask.png", 700)
    *_, (_, fig, summary, data) = list(C.cascade(Session(model="sudoku", task="sudoku", trace=wrong)))
    body = "<h3>Cascade view: a confidence run at 12 steps that ends wrong</h3>" + summary + \
        fig.to_html(include_plotlyjs=True, full_html=False)
    shoot(page(body), ROOT / "docs" / "explorer-cascade.png", 600)
    print("first wrong commit", data["first_wrong"], "| remask TIS ranks", [p["rank"] for p in data["remask TIS"]])


if __name__ == "__main__":
    main()
