"""The 9x9 grid editor of the puzzle input: 81 cells built once in the browser."""
from __future__ import annotations

# The grid editor: 81 inputs built once in the browser; typing updates the component's value
# (an 81-character string) and fires "change"; a new value from the server refills the inputs.
GRID_JS = r"""
const box = element.querySelector('.sdk-edit');
function fill(v) {
  v = (v || '').padEnd(81, '0');
  if (!box.children.length) {
    for (let i = 0; i < 81; i++) {
      const inp = document.createElement('input');
      const r = Math.floor(i / 9), c = i % 9;
      inp.dataset.i = i; inp.maxLength = 2; inp.inputMode = 'numeric';
      inp.setAttribute('aria-label', 'row ' + (r + 1) + ' column ' + (c + 1));
      inp.className = 'cell' + (c % 3 == 2 && c < 8 ? ' br' : '') + (r % 3 == 2 && r < 8 ? ' bb' : '');
      box.appendChild(inp);
    }
  }
  Array.from(box.children).forEach((inp, i) => {
    const ch = v.charAt(i); const d = (ch >= '1' && ch <= '9') ? ch : '';
    if (inp.value !== d) inp.value = d;
  });
}
fill(props.value);
box.addEventListener('input', (e) => {
  const t = e.target; const ch = t.value.replace(/[^1-9]/g, '').slice(-1); t.value = ch;
  props.value = Array.from(box.children).map(c => c.value || '0').join('');
  trigger('change');
  if (ch) { const nx = box.children[+t.dataset.i + 1]; if (nx) nx.focus(); }
});
box.addEventListener('keydown', (e) => {
  const i = +e.target.dataset.i; const moves = {ArrowLeft: -1, ArrowRight: 1, ArrowUp: -9, ArrowDown: 9};
  if (e.key in moves) { const nx = box.children[i + moves[e.key]]; if (nx) { nx.focus(); e.preventDefault(); } }
});
watch('value', () => fill(props.value));
"""


def grid_value(puzzle: str) -> str:
    """The editor's value: exactly 81 characters, '0' for blanks (best effort for bad strings)."""
    from boe_core.tasks.sudoku import normalize_grid

    s = normalize_grid(puzzle or "")[:81]
    return "".join(ch if ch in "123456789" else "0" for ch in s).ljust(81, "0")
