"""Every results/ file that README.md, docs/*.md and the model cards name exists, and every relative
link in them resolves: a moved or renamed table fails here, not in a reader's browser."""
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = [ROOT / "README.md", ROOT / "results" / "README.md", *sorted((ROOT / "docs").glob("*.md")),
        *sorted((ROOT / "assets" / "models").glob("*/README.md"))]
LINK = re.compile(r"\]\(([^)\s#]+)(?:#[^)]*)?\)")  # [text](target) or [text](target#anchor)


def expand(path: str) -> list[str]:
    """results/x_{a,b}.json -> results/x_a.json, results/x_b.json."""
    m = re.search(r"\{([^{}]*)\}", path)
    if not m:
        return [path]
    return [p for alt in m.group(1).split(",") for p in expand(path[:m.start()] + alt + path[m.end():])]


def named_results(text: str) -> list[str]:
    """The results files a text names, in code or prose (results/... or ../results/...); a pattern
    (results/<task>/..., results/*.csv) names no file."""
    out = []
    for m in re.finditer(r"(?<![\w/.-])(?:\.\./)?results/[\w.\-/{},]+", text):
        raw = m.group(0).split("results/", 1)[1].rstrip(".,/")
        if not raw or "<" in text[m.end():m.end() + 1] or "*" in raw or raw.endswith(("_", "-")):
            continue  # a pattern (results/<task>/...), not a file
        out += expand(raw)
    return out


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_results_file_a_doc_names_exists(doc):
    missing = [p for p in named_results(doc.read_text()) if not (ROOT / "results" / p).exists()]
    assert missing == [], f"{doc.relative_to(ROOT)} names results that are not there: {missing}"


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_relative_link_resolves(doc):
    broken = [t for t in LINK.findall(doc.read_text())
              if not re.match(r"[a-z]+:", t) and not (doc.parent / t).exists()]
    assert broken == [], f"{doc.relative_to(ROOT)} links to files that are not there: {broken}"


def test_the_brace_lists_expand():
    assert expand("x_{a,b}.{csv,json}") == ["x_a.csv", "x_a.json", "x_b.csv", "x_b.json"]
    assert named_results("see `results/sudoku/roots_{test,hard_val}.md` and results/<task>/x.csv") == [
        "sudoku/roots_test.md", "sudoku/roots_hard_val.md"]
