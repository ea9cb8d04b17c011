"""Background jobs of the explorer (the lock-in map, whole-run fidelity): a worker thread with
progress and a cancel event, known by a job id, so that a handler can stream progress, a second
request (a Cancel button, or an API client holding the id) can stop it, and a new job of the same
kind in the same session stops the old one. The heavy work itself is boe_core's."""
from __future__ import annotations

import threading
import time
import uuid
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any, Callable

from .session import UserError

MAX_JOBS = 256  # finished jobs are forgotten oldest first


@dataclass
class Job:
    kind: str
    session: str
    id: str = field(default_factory=lambda: uuid.uuid4().hex[:12])
    done: int = 0
    total: int = 0
    result: Any = None
    error: BaseException | None = None
    started: float = field(default_factory=time.perf_counter)
    cancel: threading.Event = field(default_factory=threading.Event)
    finished: threading.Event = field(default_factory=threading.Event)

    def progress(self, done: int, total: int) -> None:
        self.done, self.total = int(done), int(total)

    @property
    def status(self) -> str:
        if not self.finished.is_set():
            return "cancelling" if self.cancel.is_set() else "running"
        if self.error is not None:
            return "failed"
        return "cancelled" if self.cancel.is_set() else "done"

    def info(self) -> dict:
        return {"job_id": self.id, "kind": self.kind, "status": self.status, "done": self.done, "total": self.total,
                "elapsed_s": round(time.perf_counter() - self.started, 2)}


_JOBS: "OrderedDict[str, Job]" = OrderedDict()
_GUARD = threading.Lock()


def start(kind: str, session: str, work: Callable[[Job], Any]) -> Job:
    """Run `work(job)` in a daemon thread (it reports with job.progress and stops when job.cancel
    is set); a running job of the same kind and session is cancelled first."""
    for old in running(session, kind):
        old.cancel.set()
    job = Job(kind, session)

    def run():
        try:
            job.result = work(job)
        except BaseException as e:  # reported by the handler that follows the job
            job.error = e
        finally:
            job.finished.set()

    with _GUARD:
        _JOBS[job.id] = job
        while len(_JOBS) > MAX_JOBS:
            oldest = next(iter(_JOBS.values()))
            if not oldest.finished.is_set():
                break
            _JOBS.popitem(last=False)
    threading.Thread(target=run, name=f"boe-{kind}-{job.id}", daemon=True).start()
    return job


def running(session: str, kind: str) -> list[Job]:
    with _GUARD:
        return [j for j in _JOBS.values() if j.session == session and j.kind == kind and not j.finished.is_set()]


def cancel_session(session: str) -> list[Job]:
    """Cancel every running job of a session, whatever its kind: a new run replaces the run they
    were computed for (the lock-in map, fidelity, the cascade, counterfactuals ... alike)."""
    with _GUARD:
        jobs = [j for j in _JOBS.values() if j.session == session and not j.finished.is_set()]
    for j in jobs:
        j.cancel.set()
    return jobs


def cancel(kind: str, session: str, job_id: str | None = None) -> list[Job]:
    """Cancel the job `job_id` (any session may, holding its id), or else this session's running
    jobs of `kind`. A UserError names an unknown id."""
    if job_id:
        with _GUARD:
            job = _JOBS.get(str(job_id))
        if job is None or job.kind != kind:
            raise UserError(f"job_id={str(job_id)[:40]!r}: no such {kind} job (it may have finished long ago)")
        jobs = [job]
    else:
        jobs = running(session, kind)
    for j in jobs:
        j.cancel.set()
    return jobs


def follow(job: Job, every: float = 0.5):
    """Yield the job while it runs (every `every` seconds), then once more when it has finished."""
    while not job.finished.wait(every):
        yield job
    yield job
