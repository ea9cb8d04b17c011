#!/usr/bin/env python
"""Screenshot of a `bio` run in the explorer, with the root and the cascade of a wrong fact marked:
the explorer is served in this process with the bio model as the default, Debian's Chromium
(through Playwright) types a prompt, picks a preset (confidence), runs it and saves the page.

    python tools/screenshot_bio.py --prompt "bi:Zoe Reyes" --steps 32 --out docs/explorer-bio.png
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", default="bio")
    ap.add_argument("--prompt", required=True, help="a tagged bio prompt, e.g. 'bi:Zoe Reyes'")
    ap.add_argument("--steps", type=int, default=32)
    ap.add_argument("--preset", default="confidence", help="the explorer's preset (policy and knobs) to run")
    ap.add_argument("--out", default=str(ROOT / "docs" / "explorer-bio.png"))
    a = ap.parse_args(argv)
    torch.set_num_threads(1)
    from playwright.sync_api import sync_playwright

    from app import models
    from app.serve import launch
    from app.serve import free_port
    from app.ui import build_demo

    models.configure(extra=[a.model])
    demo = build_demo(concurrency=1)
    demo.queue(default_concurrency_limit=4)
    port = free_port()
    launch(demo, port=port, quiet=True)
    url = f"http://127.0.0.1:{port}/"
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            page = browser.new_page(viewport={"width": 1440, "height": 1000})
            for _ in range(120):
                try:
                    page.goto(url, timeout=60_000)
                    break
                except Exception:
                    time.sleep(1)
            page.wait_for_selector("#canvas .chips", timeout=120_000)
            box = page.get_by_label("Prompt")
            box.fill(a.prompt)
            box.press("Tab")
            preset = page.get_by_label("Preset")
            preset.click()
            page.get_by_role("option", name=a.preset, exact=True).click()
            page.wait_for_timeout(800)
            steps = page.locator("#in-steps input")
            steps.fill(str(a.steps))
            steps.press("Tab")
            page.wait_for_timeout(1000)
            page.click("#btn-run")
            page.wait_for_selector("#status .badge.ok >> text=done", timeout=300_000)
            page.wait_for_selector("#canvas .err-root", timeout=30_000)
            page.locator("#canvas").scroll_into_view_if_needed()
            page.screenshot(path=a.out, full_page=True)
            print(f"wrote {a.out}: {page.locator('#canvas .err-root').count()} root and "
                  f"{page.locator('#canvas .err-cascade').count()} cascade characters marked")
            browser.close()
    finally:
        demo.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
