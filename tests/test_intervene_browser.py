"""A real browser (Debian's Chromium through Playwright) clicks a committed cell of the Explore
canvas, intervenes from the Compare tab's panel, computes the Cascade tab, opens a commit's
counterfactual from it and repairs the run; on sudoku, and the Cascade tab's story on english and bio. Screenshots go to
test-artifacts/ (docs/ with BOE_REFRESH_DOCS=1). Skipped when /usr/bin/chromium is absent."""
import os
from pathlib import Path

import pytest
import torch

from app import models
from app_helpers import live_server

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
ROOT = Path(__file__).resolve().parents[1]
ART = ROOT / "test-artifacts"
DOCS = ROOT / ("docs" if os.environ.get("BOE_REFRESH_DOCS") == "1" else "test-artifacts")

pytestmark = [pytest.mark.slow,  # a live server and Chromium
              pytest.mark.skipif(not os.access(CHROMIUM, os.X_OK),
                                 reason=f"{CHROMIUM} is not installed (apt-get install -y chromium)")]


def _serve(monkeypatch, name):
    """A live server whose default model is `name`."""
    from boe_core import shipped_models

    if name not in shipped_models():
        pytest.skip(f"the {name} model is not shipped")
    real = models.configure
    monkeypatch.setattr(models, "configure", lambda *a, **k: real(extra=[name]))
    return live_server()


def _page(browser):
    page = browser.new_page(viewport={"width": 1440, "height": 1100})
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    return page, errors


def _run(page, url):
    page.goto(url, timeout=60_000)
    page.wait_for_selector("#status >> text=planned", timeout=90_000)
    page.click("#btn-run")
    page.wait_for_selector("#status .badge.ok >> text=done", timeout=240_000)


def _settle_at(page, selector):
    """Scroll `selector` to the top of the view, move the pointer off the page and let it paint
    (for a screenshot)."""
    page.evaluate("(sel) => { const e = document.querySelector(sel);"
                  " window.scrollTo(0, e.getBoundingClientRect().top + window.scrollY - 12); }", selector)
    page.mouse.move(5, 5)
    page.wait_for_timeout(800)


def _cascade(page, timeout=400_000):
    page.get_by_role("tab", name="Cascade").click()
    page.wait_for_selector("#cascade-status >> text=batched forwards", timeout=30_000)  # the cost, before it runs
    page.click("#btn-cascade")
    page.wait_for_selector("#cascade-ranks table", timeout=timeout)
    page.wait_for_selector("#cascade-canvas .suspect", timeout=30_000)
    _settle_at(page, "#cascade-status")


def test_click_a_cell_intervene_and_open_a_counterfactual(monkeypatch):
    sync_api = pytest.importorskip("playwright.sync_api")
    torch.set_num_threads(1)
    ART.mkdir(exist_ok=True)
    with _serve(monkeypatch, "sudoku") as url, sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page, errors = _page(browser)
        try:
            _run(page, url)
            assert page.locator("#canvas .clue[data-commit]").count() == 0
            cell = page.locator("#canvas [data-commit]").nth(5)
            pos, step = cell.get_attribute("data-pos"), int(cell.get_attribute("data-commit"))
            cell.click()  # selects it and opens Compare
            page.wait_for_selector(f"#iv-cell >> text=committed at step {step}", timeout=60_000)
            assert page.locator("#iv-pos input").input_value() == pos
            assert page.locator("#iv-step input").input_value() == str(step + 1)
            page.click("#btn-intervene")  # replace with the first alternative, the run's policy on
            page.wait_for_selector(f"text=intervened before step {step + 1}", timeout=120_000)
            page.wait_for_selector(f'#cmp-b .edited[data-pos="{pos}"]', timeout=30_000)
            _settle_at(page, "#btn-intervene")
            page.screenshot(path=str(DOCS / "explorer-intervene.png"), full_page=False)

            _cascade(page)
            page.screenshot(path=str(DOCS / "explorer-cascade-sudoku.png"), full_page=False)
            row = page.locator("#cascade-ranks tr[data-step]").first
            s, q = int(row.get_attribute("data-step")), row.get_attribute("data-pos")
            row.click()  # its counterfactual, in Compare
            page.wait_for_selector(f"text=intervened before step {s + 1}", timeout=120_000)
            page.wait_for_selector(f'#cmp-b .edited[data-pos="{q}"]', timeout=30_000)

            page.wait_for_timeout(2000)  # the click's handler ends by selecting Compare again: let it finish
            page.get_by_role("tab", name="Cascade").click()  # repair the run, from the Cascade tab's panel
            page.locator("#repair-panel").get_by_text("Repair the run (no checker)").click()
            page.click("#btn-repair")
            page.wait_for_selector("#repair-out >> text=round(s) tried", timeout=120_000)
            assert page.locator("#repair-out >> text=(the checker)").count() >= 1  # sudoku has a checker
            assert not errors, errors
        except Exception:
            page.screenshot(path=str(ART / "intervene-failure.png"), full_page=True)
            raise
        finally:
            browser.close()


def _story(page, timeout=400_000):
    """Open the Cascade tab's first story: it runs, its Cascade is computed, its commit outlined."""
    page.get_by_role("tab", name="Cascade").click()
    page.click("#btn-cascade-story")
    page.wait_for_selector("#cascade-story-text .cascade-story", timeout=120_000)
    page.wait_for_selector("#cascade-ranks tr.story", timeout=timeout)
    page.wait_for_selector("#cascade-canvas .suspect", timeout=30_000)
    _settle_at(page, "#cascade-story-text")


@pytest.mark.parametrize("name", ["english", "bio", "sudoku"])
def test_the_cascade_tab_on_text(monkeypatch, name):
    """Each cascade story (english, bio, and sudoku's hard puzzle), opened from the Cascade tab's picker
    (tools/make_cascade_stories.py); its commit's row opens its counterfactual in Compare."""
    sync_api = pytest.importorskip("playwright.sync_api")
    torch.set_num_threads(1)
    ART.mkdir(exist_ok=True)
    with _serve(monkeypatch, name) as url, sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page, errors = _page(browser)
        try:
            page.goto(url, timeout=60_000)
            page.wait_for_selector("#status >> text=planned", timeout=90_000)
            _story(page)
            shot = "explorer-cascade-sudoku-hard.png" if name == "sudoku" else f"explorer-cascade-{name}.png"
            page.screenshot(path=str(DOCS / shot), full_page=False)
            if name == "sudoku":  # the hard puzzle's story repairs its run: the panel opens with a right grid
                page.wait_for_selector("#repair-out >> text=repaired: right", timeout=120_000)
                _settle_at(page, "#repair-panel")
                page.screenshot(path=str(DOCS / "explorer-repair.png"), full_page=False)
            assert page.locator("#status .badge.ok >> text=done").count() == 1  # Explore shows the story's run
            row = page.locator("#cascade-ranks tr.story")
            s, q = int(row.get_attribute("data-step")), row.get_attribute("data-pos")
            row.click()  # the story's counterfactual, in Compare
            page.wait_for_selector(f"text=intervened before step {s + 1}", timeout=120_000)
            page.wait_for_selector(f'#cmp-b .edited[data-pos="{q}"]', timeout=30_000)
            assert not errors, errors
        except Exception:
            page.screenshot(path=str(ART / f"cascade-{name}-failure.png"), full_page=True)
            raise
        finally:
            browser.close()
