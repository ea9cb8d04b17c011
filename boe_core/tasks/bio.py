"""`bio`: recall a person's facts from a small fixed world, written as a template biography.

    prompt  "bi:Ada Moor; a chef"
    answer  "Born in Lima, Peru. Chef at Olivo in Rome, Italy."

The world (fixed, seeded): 100 people, each with three memorised facts (birth city, profession,
employer) and three that follow from them by the world's rules:
- a birth city fixes the birth country (16 cities, two in each of 8 countries);
- a profession limits the employers (6 professions, 3 employers each, no employer shared);
- an employer fixes the work city, and that city the work country.
The answer always states all six facts in this order, so every fact comes after the facts it
depends on. One wrong early fact therefore makes wrong-but-consistent later text likely: a model
that has learned the rules writes the country of the city it wrote, not of the true one.

The prompt names the person and may give up to two facts as hints (`born Lima`, `from Peru`,
`a chef`, `at Olivo`, `works in Rome`; never `born` with `at`, which give everything away).
That is 15 hint sets per person. The split is by (person, hint set): each person's 15 sets are
shuffled (seeded) into 5 for val, 5 for test and 5 for train, and train also gets every larger set (3 or
4 hints; those teach the rules: the answer then follows from the prompt). So every person's full
biography is in train, many times, but never under a val or test prompt: a test question can only
be answered by recalling the person's facts from the name and combining them with the hints given,
which is what a decoder has to do when a language model states facts. Val and test hold 500
distinct questions each (100 people x 5), in a seeded order that spreads the people over any first N.

The checker compares the six facts with the world's and labels every answer character:
- `right`: it is part of a right fact or of the template;
- `root`: part of a wrong fact that no earlier wrong fact implies;
- `cascade`: part of a wrong fact that an earlier wrong fact implies (the country of a wrong city,
  an employer of a wrong profession, the city of a wrong employer, the country of a wrong work city
  or of a wrong employer's city);
- `wrong`: other wrong text (a name that is not in the world, broken template text).
"Earlier" is earlier in the sentence, which is also the direction of the rules; which was
committed first is the trace's business (the explorer's lock-in map shows it).

The answer canvas is 64 characters (at most 57, then [EOS]s): two d1 blocks of 32.
"""
from __future__ import annotations

import itertools
import random
import re
from functools import lru_cache

from .reasoning import CHAR_KINDS, Check, Example, ReasoningTask, register

COUNTRY_CITIES = {
    "Peru": ("Lima", "Cusco"), "Spain": ("Leon", "Cadiz"), "Italy": ("Rome", "Pisa"),
    "Japan": ("Osaka", "Kyoto"), "Egypt": ("Cairo", "Giza"), "Chile": ("Arica", "Talca"),
    "India": ("Delhi", "Pune"), "Norway": ("Oslo", "Bergen"),
}
COUNTRY = {city: country for country, cities in COUNTRY_CITIES.items() for city in cities}
CITIES = tuple(COUNTRY)
# each employer belongs to one profession and sits in one city
EMPLOYERS = {
    "chef": {"Olivo": "Rome", "Sapor": "Osaka", "Menta": "Lima"},
    "nurse": {"Salus": "Oslo", "Cura": "Cairo", "Vita": "Arica"},
    "pilot": {"Aerox": "Delhi", "Volta": "Leon", "Skyra": "Kyoto"},
    "judge": {"Lexor": "Pisa", "Juris": "Cusco", "Forum": "Bergen"},
    "baker": {"Crust": "Cadiz", "Panis": "Giza", "Farin": "Talca"},
    "coder": {"Bitra": "Pune", "Codex": "Oslo", "Nodal": "Lima"},
}
PROFESSIONS = tuple(EMPLOYERS)
PROFESSION_OF = {e: p for p, es in EMPLOYERS.items() for e in es}
EMPLOYER_CITY = {e: c for es in EMPLOYERS.values() for e, c in es.items()}
FIRST = ("Ada", "Ben", "Cleo", "Dan", "Eva", "Finn", "Gia", "Hugo", "Ida", "Jon", "Kai", "Lea", "Max",
         "Nia", "Omar", "Pia", "Ravi", "Sara", "Tom", "Uma", "Vera", "Wes", "Yara", "Zoe", "Noor")
LAST = ("Moor", "Hale", "Cruz", "Diaz", "Berg", "Lund", "Sato", "Rossi", "Okoro", "Patel", "Kim",
        "Novak", "Silva", "Weber", "Ito", "Costa", "Ward", "Banda", "Reyes", "Haas")
N_PEOPLE = 100
HINTS = ("born", "from", "job", "at", "works")  # prompt order
HELD_OUT_PER_SPLIT = 5
SLOTS = ("born", "country", "job", "employer", "city", "work_country")  # answer order
_TEMPLATE = ("Born in ", "born", ", ", "country", ". ", "job", " at ", "employer", " in ", "city", ", ",
             "work_country", ".")
_LETTERS = re.compile(r"[A-Za-z]*")


def facts_of(born: str, employer: str) -> dict[str, str]:
    """All six facts of a person, from the two that the rules do not determine."""
    city = EMPLOYER_CITY[employer]
    return {"born": born, "country": COUNTRY[born], "job": PROFESSION_OF[employer], "employer": employer,
            "city": city, "work_country": COUNTRY[city]}


def answer_text(f: dict[str, str]) -> str:
    return (f"Born in {f['born']}, {f['country']}. {f['job'].capitalize()} at {f['employer']} "
            f"in {f['city']}, {f['work_country']}.")


@lru_cache(maxsize=1)
def world() -> dict[str, dict[str, str]]:
    """name -> facts, the same on every machine (a fixed seed)."""
    rng = random.Random("boe-bio-world")
    names = [f"{a} {b}" for a in FIRST for b in LAST]
    rng.shuffle(names)
    people = {}
    for name in names[:N_PEOPLE]:
        job = rng.choice(PROFESSIONS)
        people[name] = facts_of(rng.choice(CITIES), rng.choice(sorted(EMPLOYERS[job])))
    return people


def _hint_sets(sizes) -> list[tuple[str, ...]]:
    return [h for k in sizes for h in itertools.combinations(HINTS, k) if not {"born", "at"} <= set(h)]


LOW_HINT_SETS = _hint_sets((0, 1, 2))  # 15: the ones val and test draw from
HIGH_HINT_SETS = _hint_sets((3, 4, 5))  # train only


@lru_cache(maxsize=1)
def split_questions() -> dict[str, list[tuple[str, tuple[str, ...]]]]:
    """split -> [(person, hint set)]: val and test in a seeded order, train unordered."""
    out = {"train": [], "val": [], "test": []}
    for name in world():
        sets = list(LOW_HINT_SETS)
        random.Random(f"boe-bio-split-{name}").shuffle(sets)
        k = HELD_OUT_PER_SPLIT
        out["val"] += [(name, h) for h in sets[:k]]
        out["test"] += [(name, h) for h in sets[k:2 * k]]
        out["train"] += [(name, h) for h in sets[2 * k:] + HIGH_HINT_SETS]
    for s in ("val", "test"):
        random.Random(f"boe-bio-order-{s}").shuffle(out[s])
    return out


def hint_text(f: dict[str, str], hints) -> str:
    words = {"born": f"born {f['born']}", "from": f"from {f['country']}", "job": f"a {f['job']}",
             "at": f"at {f['employer']}", "works": f"works in {f['city']}"}
    return "".join(f"; {words[h]}" for h in HINTS if h in hints)


def parse_answer(answer: str) -> tuple[dict[str, tuple[int, int]], int, bool]:
    """Left to right along the template: {slot: (start, end)} of each slot read, the offset where
    the template text ends or first fails, and whether the whole template was read."""
    spans, pos = {}, 0
    for piece in _TEMPLATE:
        if piece in SLOTS:
            m = _LETTERS.match(answer, pos)
            spans[piece] = (pos, m.end())
            pos = m.end()
        elif answer.startswith(piece, pos):
            pos += len(piece)
        else:
            return spans, pos, False
    return spans, pos, True


def fact_kinds(truth: dict[str, str], said: dict[str, str]) -> dict[str, str]:
    """slot -> 'right', 'root', 'cascade' or 'wrong', for each slot read. `said` is the answer's
    text of each slot (the profession capitalised, as the template writes it)."""
    said = {s: (v.lower() if s == "job" and v == v.lower().capitalize() else v) for s, v in said.items()}
    known = {"born": CITIES, "country": tuple(COUNTRY_CITIES), "job": PROFESSIONS,
             "employer": tuple(EMPLOYER_CITY), "city": CITIES, "work_country": tuple(COUNTRY_CITIES)}
    kinds: dict[str, str] = {}

    def wrong_fact(slot):  # an earlier slot that states a wrong fact of the world
        return kinds.get(slot) in ("root", "cascade")

    for slot in SLOTS:
        if slot not in said:
            continue
        v = said[slot]
        if v == truth[slot]:
            kinds[slot] = "right"
        elif v not in known[slot]:
            kinds[slot] = "wrong"
        else:
            implied = (
                (slot == "country" and wrong_fact("born") and COUNTRY[said["born"]] == v)
                or (slot == "employer" and wrong_fact("job") and PROFESSION_OF[v] == said["job"])
                or (slot == "city" and wrong_fact("employer") and EMPLOYER_CITY[said["employer"]] == v)
                or (slot == "work_country" and wrong_fact("city") and COUNTRY[said["city"]] == v)
                or (slot == "work_country" and wrong_fact("employer")
                    and COUNTRY[EMPLOYER_CITY[said["employer"]]] == v))
            kinds[slot] = "cascade" if implied else "root"
    return kinds


@register
class BioTask(ReasoningTask):
    name = "bio"
    order = 5
    tag = "bi:"
    gen_length = 64
    model = "bio"  # its own model: a world to memorise, unrelated to the other tasks
    labels_cascades = True

    def make(self, name: str, hints) -> Example:
        f = world()[name]
        return Example(self.name, name + hint_text(f, hints), answer_text(f),
                       {"person": name, "hints": list(hints), "facts": dict(f)})

    def example(self, split: str, index: int) -> Example:
        if split not in ("train", "val", "test"):
            raise ValueError(f"split={split!r}: must be 'train', 'val' or 'test'")
        qs = split_questions()[split]
        if split == "train":  # a seeded draw from every person's train questions
            return self.make(*random.Random(f"boe-{self.name}-train-{index}").choice(qs))
        if not 0 <= index < len(qs):
            raise IndexError(f"index={index}: the bio {split} split holds {len(qs)} questions")
        return self.make(*qs[index])

    def split(self, split: str, n: int | None = None) -> list[Example]:
        """The first n questions (all of them, 500, when n is None or larger)."""
        total = len(split_questions()[split])
        return [self.example(split, i) for i in range(total if n is None else min(n, total))]

    def generate(self, rng: random.Random) -> Example:
        return self.make(*rng.choice(split_questions()["train"]))

    def from_prompt(self, body: str) -> Example | None:
        """A typed 'Name; hint; ...' for a person of the world (hints are not checked)."""
        name = body.split(";")[0].strip()
        return self.make(name, ()) if name in world() else None

    def check(self, example: Example, answer: str) -> Check:
        """Exact match; per character, right / root / cascade / wrong (see the module docstring)."""
        truth = example.meta["facts"] if "facts" in example.meta else world()[example.meta["person"]]
        ref = answer_text(truth)
        spans, end, complete = parse_answer(answer)
        said = {s: answer[a:b] for s, (a, b) in spans.items()}
        kinds_of = fact_kinds(truth, said)
        kinds = ["right"] * len(answer)
        for s, (a, b) in spans.items():
            for i in range(a, b):
                kinds[i] = kinds_of[s]
        for i in range(end, len(answer)):  # after the template broke: whatever differs from the reference
            if i >= len(ref) or answer[i] != ref[i]:
                kinds[i] = "wrong"
        wrong = [i for i, k in enumerate(kinds) if k != "right"]
        if answer == ref:
            return Check(True, [], "all six facts right", kinds=kinds)
        shown = dict(truth, job=truth["job"].capitalize())
        parts = [f"{kinds_of[s]}: {s} {said[s]!r}, expected {shown[s]!r}"
                 for s in SLOTS if kinds_of.get(s, "right") != "right"]
        if not complete:
            parts.append("the answer stops short" if end == len(answer) else "the template breaks")
        elif end < len(answer):
            parts.append("text after the last fact")
        assert set(kinds) <= set(CHAR_KINDS)
        return Check(False, wrong, "; ".join(parts) or "differs from the reference", kinds=kinds)
