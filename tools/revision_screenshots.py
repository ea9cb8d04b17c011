"""Screenshots of revision in the running explorer (a live server in this process, Chromium through
Playwright): a ReMDM remask on the Sudoku canvas (struck through, with the step the cell came back)
and the Cascade tab on a confidence run that ends wrong. Writes docs/explorer-remask.png and
docs/explorer-cascade.png.

    python tools/revision_screenshots.py      # needs /usr/bin/chromium and the shipped sudoku model
"""
from __future__ import annotations

import json
import time
from pathlib import Path

import torch

from app.serve import live_server
from boe_core import generate, load_model
from boe_core.tasks.views import get_view

ROOT = Path(__file__).resolve().parents[1]

CHROMIUM = "/usr/bin/chromium"
STEPS = 12


def wrong_puzzle() -> str:
    """The first validation puzzle that confidence gets wrong at 12 steps (early enough to rank)."""
    m, view = load_model("sudoku"), get_view("sudoku")
    for line in (ROOT / "assets/data/sudoku/heldout_val.jsonl").read_text().splitlines():
        row = json.loads(line)
        plan = view.build_canvas(m, {"puzzle": row["puzzle"]})
        plan.meta["solution"] = row["solution"]
        tr = generate(m, canvas=plan.ids, steps=STEPS, policy="confidence", meta=plan.meta)
        if not view.solved(tr, STEPS - 1) and view.first_wrong(tr)["step"] < 9:
            return row["puzzle"]
    raise SystemExit("no wrong run in the validation split")


def run(page, puzzle: str, policy: str) -> None:
    box = page.get_by_label("Puzzle (81 characters; 0 or . = blank)")
    box.fill(puzzle)
    box.press("Tab")
    pol = page.get_by_label("Policy", exact=True)
    pol.click()
    pol.fill(policy)
    page.keyboard.press("Enter")
    time.sleep(1)
    steps = page.locator("#in-steps input")
    steps.fill(str(STEPS))
    steps.press("Tab")
    time.sleep(1)
    page.click("#btn-run")
    page.wait_for_selector("#status .badge.ok >> text=done", timeout=180_000)


def main():
    from playwright.sync_api import sync_playwright

    torch.set_num_threads(1)
    puzzle = wrong_puzzle()
    m = load_model("sudoku")
    from boe_core.tasks.sudoku import puzzle_to_canvas

    remdm = generate(m, canvas=puzzle_to_canvas(puzzle, m.tokenizer)[0][None], steps=STEPS, policy="remdm")
    k = next(r.step for r in remdm.records if r.remasked[0].any() and r.step > STEPS // 3)
    with live_server() as url, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--headless", "--no-sandbox", "--disable-gpu"])
        page = browser.new_page(viewport={"width": 1440, "height": 1100})
        page.goto(url, timeout=60_000)
        page.wait_for_selector("#status >> text=planned", timeout=60_000)
        run(page, puzzle, "remdm")
        for j in range(STEPS - 1 - k):  # from the last step back to step k
            page.click("#btn-back")
            page.wait_for_selector(f"#status >> text=step {STEPS - 2 - j} /", timeout=30_000)
        time.sleep(1)
        page.locator("#canvas").screenshot(path=str(ROOT / "docs" / "explorer-remask.png"))
        run(page, puzzle, "confidence")
        page.get_by_role("tab", name="Cascade").click()
        page.click("#btn-cascade")
        page.wait_for_selector("#cascade-status .badge.bad", timeout=180_000)
        time.sleep(2)
        page.screenshot(path=str(ROOT / "docs" / "explorer-cascade.png"), full_page=True)
        browser.close()
    print(f"puzzle {puzzle}; ReMDM remask shown at step {k}")


if __name__ == "__main__":
    main()
