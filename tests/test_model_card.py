"""scripts/model_card.py reads a training log: a 'done' line belongs to the session it ends."""
from scripts.model_card import parse_log

LOG = """2026-01-01 10:00:00 start: 1.00M params, config {"d_model": 8}, args {"minutes": 10}
2026-01-01 10:05:00 step 25 lr 1.0e-03 elapsed_min 5.0 a:loss=1.0
2026-01-01 10:10:00 done: step 50, 10.0 min; val exact match {"a": 0.1}
2026-01-01 11:00:00 resume at step 50: 1.00M params, config {"d_model": 8}, args {"minutes": 20}
2026-01-01 11:05:00 checkpoint step 75; val exact match {"a": 0.2} (3s)
2026-01-01 11:06:00 step 80 lr 1.0e-03 elapsed_min 15.0 a:loss=0.5
"""


def test_a_resume_after_done_leaves_the_run_unfinished(tmp_path):
    p = tmp_path / "train.log"
    p.write_text(LOG)
    log = parse_log(p)
    assert len(log["sessions"]) == 2 and log["sessions"][1]["args"] == {"minutes": 20}
    assert log["done"] is None
    assert [c["line"].split(";")[0] for c in log["checkpoints"]] == ["checkpoint step 75"]
    p.write_text(LOG + "2026-01-01 11:10:00 done: step 100, 20.0 min; val exact match {}\n")
    assert parse_log(p)["done"].startswith("done: step 100")
