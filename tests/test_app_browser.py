"""A real browser (Debian's Chromium through Playwright's sync API) drives the explorer: load the
page, run the default model, move the slider, switch the overlay, branch, check fidelity; screenshots
go to test-artifacts/. Skipped when /usr/bin/chromium is absent (install: apt-get install chromium)."""
import os
import re
import time
from pathlib import Path

import pytest
import torch

from app_helpers import default_model_or_reason, live_server

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
ART = Path(__file__).resolve().parents[1] / "test-artifacts"

pytestmark = [pytest.mark.slow,  # a live server and Chromium
              pytest.mark.skipif(not os.access(CHROMIUM, os.X_OK),
                                 reason=f"{CHROMIUM} is not installed (apt-get install -y chromium)")]


def test_explorer_in_a_browser():
    sync_api = pytest.importorskip("playwright.sync_api")
    name, why = default_model_or_reason()
    if name is None:
        pytest.fail(why)
    torch.set_num_threads(1)
    ART.mkdir(exist_ok=True)
    with live_server() as url, sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            page = browser.new_page(viewport={"width": 1440, "height": 1000})
            errors = []
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto(url, timeout=60_000)
            canvas_sel = "#canvas .sdk" if name == "sudoku" else "#canvas .chips"
            page.wait_for_selector(canvas_sel, timeout=60_000)
            page.wait_for_selector("#status >> text=planned", timeout=60_000)
            page.screenshot(path=str(ART / "app-01-loaded.png"), full_page=True)

            if name == "sudoku":  # the grid editor writes the puzzle string (and the step count)
                from boe_core.tasks.sudoku import load_examples

                ex = load_examples()[0]
                blank = ex["puzzle"].index("0")
                page.get_by_text("Edit as a grid").click()
                page.locator("#grid-editor input").nth(blank).click()
                page.keyboard.type(ex["solution"][blank])
                want = ex["puzzle"][:blank] + ex["solution"][blank] + ex["puzzle"][blank + 1:]
                page.wait_for_function(f"() => Array.from(document.querySelectorAll('textarea'))"
                                       f".some(t => t.value === '{want}')", timeout=30_000)
                page.screenshot(path=str(ART / "app-01b-grid-editor.png"), full_page=False)

            # Run on small settings: fewer steps for a quick test.
            steps = page.locator("#in-steps input")
            steps.fill("6")
            steps.press("Tab")
            page.click("#btn-run")
            page.wait_for_selector("#status .badge.ok >> text=done", timeout=120_000)
            assert page.locator("#status").inner_text().count("step 5 / 5") == 1
            page.screenshot(path=str(ART / "app-02-run.png"), full_page=True)

            # Move the slider to the start: the canvas shows step 0's commits.
            track = page.locator("#step-slider input[type=range]")
            box = track.bounding_box()
            page.mouse.click(box["x"] + 2, box["y"] + box["height"] / 2)
            page.wait_for_selector("#status >> text=step 0 / 5", timeout=30_000)
            new_cells = page.locator("#canvas .new").count()
            assert new_cells >= 1

            # Overlay: colour masked positions by entropy; the legend shows a colour bar.
            page.locator("#overlay label", has_text="Entropy").click()
            page.wait_for_selector("#canvas .lg-bar", timeout=30_000)
            assert "background:#" in page.inner_html("#canvas")
            cell = page.locator("#canvas .mask").first
            cell.hover()
            tip = cell.get_attribute("data-tip")
            assert "top proposals" in tip
            page.screenshot(path=str(ART / "app-03-step0-entropy.png"), full_page=True)

            # Branch under confidence where the run first departs from it (the default after Run).
            page.get_by_role("tab", name="Compare").click()
            at = page.locator("#branch-at input").input_value()  # after Run: the first departure from confidence
            page.click("#btn-branch")
            page.wait_for_selector(f"text=branched at step {at}", timeout=120_000)
            page.wait_for_selector("#cmp-b .boe-canvas", timeout=30_000)
            summary = page.locator(".boe-status", has_text="branched at step").inner_text()
            assert re.search(r"identical so far|first divergent commit", summary)
            page.screenshot(path=str(ART / "app-04-compare.png"), full_page=True)

            page.get_by_role("tab", name="Fidelity").click()
            page.click("#btn-fidelity")
            page.wait_for_selector("text=Spearman", timeout=120_000)
            page.screenshot(path=str(ART / "app-05-fidelity.png"), full_page=True)

            # Play animates from a fresh canvas, one step per tick; Pause stops it.
            page.get_by_role("tab", name="Explore").click()
            page.click("#btn-reset")
            page.wait_for_selector("#status >> text=planned", timeout=30_000)
            page.click("#btn-play")
            page.wait_for_selector("#status >> text=step 1 / 5", timeout=60_000)
            page.click("#btn-pause")
            page.wait_for_timeout(1500)
            shown = re.search(r"step (\d) / 5", page.locator("#status").inner_text()).group(1)
            page.wait_for_timeout(1500)
            assert re.search(r"step (\d) / 5", page.locator("#status").inner_text()).group(1) == shown

            page.get_by_role("tab", name="About").click()
            page.wait_for_selector("text=ActiveQueryAttention", timeout=10_000)
            page.screenshot(path=str(ART / "app-06-about.png"), full_page=False)
            assert not errors, errors
        except Exception:
            page.screenshot(path=str(ART / "app-failure.png"), full_page=True)
            raise
        finally:
            browser.close()


# The docs' screenshots are refreshed only on request (BOE_REFRESH_DOCS=1), so that running the
# tests leaves the tracked files alone; otherwise they go to test-artifacts/ with the rest.
DOCS = Path(__file__).resolve().parents[1] / ("docs" if os.environ.get("BOE_REFRESH_DOCS") == "1" else "test-artifacts")


def test_new_views_in_a_browser(monkeypatch):
    """A story from the picker, Run, confidence's pick on the canvas, the lock-in map (computed after
    Run; a click on a step opens that hand-over in Compare; a second map cancelled), whole-run
    fidelity. Screenshots of these views go to test-artifacts/ (docs/ with BOE_REFRESH_DOCS=1)."""
    sync_api = pytest.importorskip("playwright.sync_api")
    name, why = default_model_or_reason()
    if name is None:
        pytest.fail(why)
    from app import stories

    told = [s for s in stories.load_stories(name) if s["kind"] == "confidence-locks-in"]
    if not told:
        pytest.skip(f"no stories for {name} (tools/make_stories.py)")
    st = min(told, key=lambda s: s["values"]["steps"])
    torch.set_num_threads(1)
    ART.mkdir(exist_ok=True)
    with live_server() as url, sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            page = browser.new_page(viewport={"width": 1440, "height": 1000})
            errors = []
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto(url, timeout=60_000)
            page.wait_for_selector("#status >> text=planned", timeout=60_000)

            # a story: its inputs, its run policy, its explanation
            page.locator("#story input").click()
            page.get_by_role("option", name=st["label"]).click()
            page.wait_for_selector("#story-text .story-text", timeout=30_000)
            assert st["label"] in page.locator("#story-text").inner_text()
            page.wait_for_function(f"() => Array.from(document.querySelectorAll('textarea'))"
                                   f".some(t => t.value === '{st['values']['puzzle']}')", timeout=30_000)
            page.wait_for_timeout(1000)
            page.click("#btn-run")
            last = st["values"]["steps"] - 1
            page.wait_for_selector("#status .badge.ok >> text=done", timeout=180_000)
            assert f"step {last} / {last}" in page.locator("#status").inner_text()

            # confidence's pick: at step 0 the canvas marks it, the status names it
            track = page.locator("#step-slider input[type=range]")
            box = track.bounding_box()
            page.mouse.click(box["x"] + 2, box["y"] + box["height"] / 2)
            page.wait_for_selector(f"#status >> text=step 0 / {last}", timeout=30_000)
            assert page.locator("#canvas .cpick").count() >= 1
            assert "confidence would commit" in page.locator("#status").inner_text()
            page.screenshot(path=str(DOCS / "explorer-confidence-pick.png"), full_page=False)

            # the lock-in map, started after Run
            page.get_by_role("tab", name="Lock-in").click()
            page.wait_for_selector("#lockin-status >> text=hand-over points", timeout=240_000)
            cols = page.locator("#lockin-chart .li-col")
            assert cols.count() == last + 1
            assert page.locator("#lockin-chart .li-out.wrong").count() >= 1  # the story: confidence locks in
            page.screenshot(path=str(DOCS / "explorer-lockin.png"), full_page=False)

            # a click on a step opens that hand-over side by side in Compare
            k = st["branch_at"]
            page.locator(f'#lockin-chart .li-col[data-step="{k}"]').click()
            page.wait_for_selector(f"text=branched at step {k}", timeout=120_000)
            page.wait_for_selector("#cmp-b .boe-canvas", timeout=30_000)
            assert "confidence" in page.locator("#branch-hint").inner_text()  # set after Run
            page.mouse.move(5, 5)  # no tooltip in the screenshot
            page.wait_for_timeout(1500)
            page.screenshot(path=str(DOCS / "explorer-lockin-compare.png"), full_page=False)

            # another map (margin: a rollout at every step), cancelled while it runs. Each point is
            # slowed down here so that the map cannot finish before the click reaches the server.
            import app.lockin as app_lockin

            real_map = app_lockin.lockin_map

            def slow_map(*args, callback=None, **kw):
                def paced(done, total):
                    time.sleep(0.5)
                    if callback is not None:
                        callback(done, total)
                return real_map(*args, callback=paced, **kw)

            monkeypatch.setattr(app_lockin, "lockin_map", slow_map)
            page.get_by_role("tab", name="Lock-in").click()
            page.locator("#lockin-status").wait_for(timeout=10_000)
            page.locator("#lockin-policy input").click()
            page.get_by_role("option", name="margin").click()
            page.click("#btn-lockin")
            page.wait_for_selector("#lockin-status >> text=computing the lock-in map", timeout=60_000)
            page.click("#btn-lockin-cancel")
            page.wait_for_selector("#lockin-status >> text=cancelled", timeout=60_000)

            # whole-run fidelity
            page.get_by_role("tab", name="Fidelity").click()
            page.click("#btn-fid-run")
            page.wait_for_selector("#fid-run-status >> text=steps measured", timeout=240_000)
            page.locator("#fid-run-plot").scroll_into_view_if_needed()
            page.wait_for_timeout(1000)
            page.screenshot(path=str(DOCS / "explorer-fidelity.png"), full_page=False)
            assert not errors, errors
        except Exception:
            page.screenshot(path=str(ART / "app-new-views-failure.png"), full_page=True)
            raise
        finally:
            browser.close()
