"""The `bio` facts task: its world's rules, its split, and a checker that tells a root error from
the cascade that follows it."""
import pytest

from boe_core.tasks import bio
from boe_core.tasks.reasoning import CHAR_KINDS, SYMBOLS, Check, Example, get_task, tasks_of_model

TRUTH = bio.facts_of("Cusco", "Nodal")  # a coder at Nodal (Lima), born in Cusco
REF = "Born in Cusco, Peru. Coder at Nodal in Lima, Peru."
EX = Example("bio", "Ann Test", REF, {"facts": TRUTH})
CODE = {"right": ".", "root": "R", "cascade": "c", "wrong": "w"}


def expect(answer: str, **marked) -> str:
    """The kinds string with each named substring (unique in the answer) marked: root=[...] etc."""
    out = ["."] * len(answer)
    for kind, words in marked.items():
        for w in words:
            a = answer.index(w)
            assert answer.count(w) == 1, w
            out[a:a + len(w)] = CODE[kind] * len(w)
    return "".join(out)


def kinds_of(answer: str) -> str:
    chk = get_task("bio").check(EX, answer)
    assert len(chk.kinds) == len(answer) and set(chk.kinds) <= set(CHAR_KINDS)
    assert chk.wrong_chars == [i for i, k in enumerate(chk.kinds) if k != "right"]
    return "".join(CODE[k] for k in chk.kinds)


def test_registered_with_its_own_model_and_layout():
    t = get_task("bio")
    assert t.model == "bio" and tasks_of_model("bio") == ("bio",)
    assert t.gen_length % 8 == 0 and t.gen_length <= 64
    for name in bio.world():
        ex = t.make(name, ())
        assert len(ex.answer) <= t.gen_length and set(t.prompt_text(ex)) | set(ex.answer) <= set(SYMBOLS)
    assert bio.answer_text(TRUTH) == REF


def test_world_follows_its_rules():
    assert len(bio.world()) == bio.N_PEOPLE
    for f in bio.world().values():
        assert f["country"] == bio.COUNTRY[f["born"]]
        assert f["employer"] in bio.EMPLOYERS[f["job"]]
        assert f["city"] == bio.EMPLOYER_CITY[f["employer"]] and f["work_country"] == bio.COUNTRY[f["city"]]


def test_split_asks_held_out_questions_about_people_train_knows():
    qs = bio.split_questions()
    train, val, test = (set(qs[s]) for s in ("train", "val", "test"))
    assert len(qs["val"]) == len(val) == 500 and len(qs["test"]) == len(test) == 500
    assert not (train & val or train & test or val & test)
    people = set(bio.world())
    for s in (val, test):  # every person, five times, with at most two hints
        assert {p for p, _ in s} == people
        assert all(len(h) <= 2 for _, h in s)
    assert {p for p, _ in train} == people  # each person's full biography is trained on
    t = get_task("bio")
    train_prompts = {t.make(*q).prompt for q in qs["train"]}
    assert not train_prompts & t.held_out_prompts()
    assert all(t.example("train", i).prompt in train_prompts for i in range(50))
    assert len(t.split("test", 1000)) == 500 and t.split("val", 3)[0].prompt == t.make(*qs["val"][0]).prompt


def test_checker_right_answer():
    chk = get_task("bio").check(EX, REF)
    assert chk.correct and chk.wrong_chars == [] and set(chk.kinds) == {"right"}


def test_checker_root_then_its_cascade():
    # a wrong birth city, and the country of that wrong city
    a = "Born in Rome, Italy. Coder at Nodal in Lima, Peru."
    assert kinds_of(a) == expect(a, root=["Rome"], cascade=["Italy"])
    # a wrong profession: its employer, that employer's city and country follow from it
    a = "Born in Cusco, Peru. Chef at Olivo in Rome, Italy."
    assert kinds_of(a) == expect(a, root=["Chef"], cascade=["Olivo", "Rome", "Italy"])


def test_checker_unrelated_wrong_fact_is_a_root():
    # the city does not follow from any earlier wrong fact: a root; a right country stays right
    a = "Born in Cusco, Peru. Coder at Nodal in Oslo, Peru."
    assert kinds_of(a) == expect(a, root=["Oslo"])
    # a wrong country after a right city is a root too (nothing wrong came before it)
    a = "Born in Cusco, Chile. Coder at Nodal in Lima, Peru."
    assert kinds_of(a) == expect(a, root=["Chile"])
    # two roots in two chains: a wrong birth city does not explain a wrong employer
    chk = get_task("bio").check(EX, "Born in Rome, Peru. Coder at Codex in Oslo, Norway.")
    assert "root: born" in chk.reason and "root: employer" in chk.reason and "cascade: city" in chk.reason


def test_checker_other_wrong_text():
    # names that are not in the world, and broken template text, are plain wrong
    a = "Born in Cuzco, Peru. Coder at Nodal in Lima, Peru."
    assert kinds_of(a) == expect(a, wrong=["Cuzco"])
    a = "Born on Cusco, Peru. Coder at Nodal in Lima, Peru."
    assert kinds_of(a) == "....." + "w" + "." * (len(a) - 6)  # only the 'o' differs from the reference
    short = get_task("bio").check(EX, "Born in Cusco")
    assert not short.correct and "stops short" in short.reason


def test_check_stays_compatible():
    chk = Check(True, [], "ok")
    assert chk.kinds is None and chk.value is None


def test_from_prompt_finds_the_person():
    t = get_task("bio")
    name = next(iter(bio.world()))
    ex = t.from_prompt(f"{name}; a chef")
    assert ex is not None and t.check(ex, ex.answer).correct
    assert t.from_prompt("Nobody Here") is None


@pytest.mark.slow  # the shipped model on 40 val questions
def test_the_bio_model_loads_by_name_and_its_failures_cascade():
    """The shipped bio model opens in its own view; on 40 val questions (confidence, 2 characters per
    step, one block; docs/models.md has the d1 figures) it recalls some people fully, and some of its
    failures hold a cascade."""
    import numpy as np

    from boe_core import generate, load_model, shipped_models
    from boe_core.bench import make_task

    assert "bio" in shipped_models()
    m = load_model("bio")
    assert m.task == "bio"
    task = make_task("bio")
    ex = task.load("val", 40)
    ids, am = task.canvas(m, ex)
    tr = generate(m, canvas=ids, attention_mask=am, steps=32, policy="confidence")
    scores = task.score(m, ex, tr.final_canvas)
    assert np.mean([s["exact_match"] for s in scores]) >= 0.05
    assert any("cascade:" in s["reason"] for s in scores if not s["exact_match"])
