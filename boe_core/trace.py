"""Typed results: one StepRecord per decoding step, a Trace per run.

Arrays are numpy, shaped (B, N) over batch rows and canvas positions unless said otherwise;
float fields hold NaN where a value does not apply (e.g. the entropy of a committed position).
JSON is lossless: float32 values survive the round trip bit for bit.

Schema v2: the per-position signals a policy declares (BoE's TIS and gradient norm, candidates,
probes, lookahead's exact drop, confidence's own pick ...) live in ``StepRecord.signals``, a dict
of (B, N) arrays, and every export is generated from that dict and the declarations in
``boe_core.signals``. v1 files (fixed ``tis``/``grad_norm``/``candidates``/``probes`` fields and a
``boe`` config section) are still read.

Schema v3: a step may take commits back. ``StepRecord.remasked`` marks the committed positions a
step turned back into [MASK] (after its commits), and ``n_commit`` is the real count per row, which
may vary. A position's history (commit, remask, recommit ...) is `Trace.history`. v2 files load
with no remasks.

Schema v4: ``Trace.counterfactuals`` (row -> the encoded `boe_core.counterfactuals.Counterfactuals`
of that row) travels with the trace; a trace made by `boe_core.intervene` lists its edits in
``meta["interventions"]`` and `Trace.check` accepts exactly those cells changing between steps.
v1-v3 files load with no counterfactuals.
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass, field, fields
from pathlib import Path

import numpy as np

from .config import DecodeConfig
from .signals import declared

SCHEMA = "boe-explorer/trace"
SCHEMA_VERSION = 4
READABLE_VERSIONS = (1, 2, 3, 4)

_ARRAY_FIELDS = ("canvas_before", "canvas_after", "masked", "eligible", "proposals", "confidence",
                 "margin", "entropy", "topk_ids", "topk_probs", "score", "chosen", "fallback", "n_commit", "remasked")
_V1_SIGNALS = ("tis", "grad_norm", "candidates", "probes")  # v1 kept these as fixed fields


@dataclass
class StepRecord:
    step: int  # global step index, 0-based
    block: int
    t: int  # diffusion time, T .. 1
    policy: str
    canvas_before: np.ndarray  # int64
    canvas_after: np.ndarray  # int64
    masked: np.ndarray  # bool: masked before this step
    eligible: np.ndarray  # bool: masked and in the current block
    proposals: np.ndarray  # int64, -1 where not masked
    confidence: np.ndarray  # float32
    margin: np.ndarray  # float32
    entropy: np.ndarray  # float32, nats
    topk_ids: np.ndarray  # (B, N, k) int64
    topk_probs: np.ndarray  # (B, N, k) float32
    score: np.ndarray  # float32: the policy's selection score (NaN where not eligible)
    chosen: np.ndarray  # bool: committed at this step
    fallback: np.ndarray  # (B,) bool: fell back to confidence order
    n_commit: np.ndarray  # (B,) int64: positions committed at this step (may vary per step and row)
    remasked: np.ndarray  # bool: committed positions turned back into [MASK] by this step
    n_forward: int  # forward passes per sequence
    n_backward: int  # backward passes per sequence
    wall_time: float  # seconds
    # name -> (B, N) float32 (NaN where it does not apply) or bool, as declared in boe_core.signals
    signals: dict = field(default_factory=dict)
    notes: list = field(default_factory=list)  # things the step wants said (e.g. "r raised to b")

    def signal(self, name: str) -> np.ndarray:
        """The named signal, or an all-NaN (float) / all-False (bool) array when this step has none."""
        if name in self.signals:
            return self.signals[name]
        shape = self.canvas_before.shape
        return np.zeros(shape, bool) if declared(name).kind == "bool" else np.full(shape, np.nan, np.float32)

    # convenience accessors for the signals most code reads
    @property
    def tis(self) -> np.ndarray:
        return self.signal("tis")

    @property
    def grad_norm(self) -> np.ndarray:
        return self.signal("grad_norm")

    @property
    def candidates(self) -> np.ndarray:
        return self.signal("candidates")

    @property
    def probes(self) -> np.ndarray:
        return self.signal("probes")

    @property
    def masked_entropy(self) -> np.ndarray:
        """(B,) total entropy of the positions masked before this step."""
        return np.nansum(np.where(self.masked, self.entropy, np.nan), axis=1)

    def to_dict(self) -> dict:
        d = {}
        for f in fields(self):
            v = getattr(self, f.name)
            if f.name == "signals":
                v = {k: _encode_array(a) for k, a in v.items()}
            d[f.name] = _encode_array(v) if isinstance(v, np.ndarray) else v
        return d

    @classmethod
    def from_dict(cls, d: dict, version: int = SCHEMA_VERSION) -> "StepRecord":
        d = dict(d)
        if version == 1:
            d["signals"] = {k: d.pop(k) for k in _V1_SIGNALS if k in d}
            d.setdefault("notes", [])
        if version in (1, 2):  # no remasks before v3
            shape = d["canvas_before"]["shape"] if isinstance(d.get("canvas_before"), dict) else [0, 0]
            d["remasked"] = _encode_array(np.zeros(shape, bool))
        kw = {}
        for f in fields(cls):
            if f.name not in d:
                raise ValueError(f"trace step record is missing field {f.name!r}")
            v = d[f.name]
            if f.name == "signals":
                if not isinstance(v, dict):
                    raise ValueError("trace field 'signals' is not a mapping")
                v = {str(k): _decode_array(a, f"signals.{k}") for k, a in v.items()}
            elif f.name in _ARRAY_FIELDS:
                v = _decode_array(v, f.name)
            kw[f.name] = v
        return cls(**kw)

    def check(self) -> None:
        """Raise ValueError when an array does not fit the canvas or a signal its declaration."""
        shape = self.canvas_before.shape
        for name in ("canvas_after", "masked", "eligible", "proposals", "confidence", "margin", "entropy",
                     "score", "chosen", "remasked"):
            if getattr(self, name).shape != shape:
                raise ValueError(f"step {self.step}: field {name!r} has shape {getattr(self, name).shape}, "
                                 f"expected {shape}")
        if self.remasked.dtype != bool or self.chosen.dtype != bool:
            raise ValueError(f"step {self.step}: fields 'chosen' and 'remasked' must be bool")
        if (self.remasked & self.masked).any():
            raise ValueError(f"step {self.step}: a remasked position was masked before the step")
        if (self.remasked & self.chosen).any():
            raise ValueError(f"step {self.step}: a position was committed and remasked at the same step")
        for name, a in self.signals.items():
            if a.shape != shape:
                raise ValueError(f"step {self.step}: signal {name!r} has shape {a.shape}, expected {shape}")
            want = declared(name).kind
            if (a.dtype == bool) != (want == "bool"):
                raise ValueError(f"step {self.step}: signal {name!r} is {a.dtype}, declared {want}")


@dataclass
class Trace:
    model: str
    config: dict
    initial_canvas: np.ndarray  # (B, N) int64
    fixed: np.ndarray  # (B, N) bool: never changed (prompt, clues)
    attention_mask: np.ndarray | None  # (B, N) bool, True = real token
    schedule: dict
    mask_id: int
    records: list[StepRecord] = field(default_factory=list)
    id_to_token: dict[int, str] = field(default_factory=dict)
    meta: dict = field(default_factory=dict)
    counterfactuals: dict = field(default_factory=dict)  # str(row) -> Counterfactuals.to_dict() (v4)

    @property
    def final_canvas(self) -> np.ndarray:
        return self.records[-1].canvas_after if self.records else self.initial_canvas

    @property
    def num_steps(self) -> int:
        return len(self.records)

    @property
    def finished(self) -> bool:
        """The run used its budget of steps, or left nothing masked (a loop that ends early: more
        steps than masks, a policy that commits several per step)."""
        if not self.records:
            return False
        if self.num_steps >= len(self.schedule.get("step_block", [])):
            return True
        live = self.final_canvas == self.mask_id
        if self.attention_mask is not None:
            live &= self.attention_mask
        return not live.any()

    def masked_entropy_curve(self) -> np.ndarray:
        """(steps, B) total masked entropy before each step."""
        return np.stack([r.masked_entropy for r in self.records]) if self.records else np.zeros((0, 1))

    def tokens(self, ids) -> list[str]:
        return [self.id_to_token.get(int(i), f"<{int(i)}>") for i in ids]

    def signal_names(self) -> list[str]:
        """Every signal any step carries, in first-seen order."""
        seen: dict[str, None] = {}
        for r in self.records:
            seen.update(dict.fromkeys(r.signals))
        return list(seen)

    def history(self, position: int, row: int = 0) -> list[tuple[int, str, int]]:
        """The events of one position: [(step, "commit" | "remask", token id after), ...] in order
        (a remask's token id is the mask id)."""
        out = []
        for r in self.records:
            if r.chosen[row, position]:
                out.append((r.step, "commit", int(r.canvas_after[row, position])))
            if r.remasked[row, position]:
                out.append((r.step, "remask", int(r.canvas_after[row, position])))
        return out

    def remask_steps(self, row: int = 0) -> dict[int, list[int]]:
        """position -> the steps at which it was remasked (row `row`); empty for a monotone run."""
        out: dict[int, list[int]] = {}
        for r in self.records:
            for p in np.flatnonzero(r.remasked[row]):
                out.setdefault(int(p), []).append(r.step)
        return out

    def check(self) -> None:
        """Raise ValueError when a record does not fit the canvas or the run breaks the loop's
        invariants: fixed cells never change, every step's canvas follows from the previous one by
        its commits and remasks, and a finished run leaves nothing masked."""
        prev = self.initial_canvas
        edited = {}  # step -> (rows, positions) an intervention changed before that step
        for e in (self.meta.get("interventions") or []) if isinstance(self.meta, dict) else []:
            rows, pos = edited.get(int(e["step"]), ([], []))
            edited[int(e["step"])] = (rows + [int(e["row"])] * len(e["positions"]), pos + list(e["positions"]))
        for r in self.records:
            r.check()
            if r.step in edited:  # the user's edit, not the policy's: those cells may change
                prev = prev.copy()
                rows, pos = edited[r.step]
                prev[rows, pos] = r.canvas_before[rows, pos]
            if not np.array_equal(r.canvas_before, prev):
                raise ValueError(f"step {r.step}: canvas_before is not the previous step's canvas_after")
            if (r.remasked & self.fixed).any() or (r.chosen & self.fixed).any():
                raise ValueError(f"step {r.step}: a fixed (prompt) position was committed or remasked")
            moved = r.chosen | r.remasked
            if not np.array_equal(r.canvas_after[~moved], r.canvas_before[~moved]):
                raise ValueError(f"step {r.step}: a position changed without a commit or a remask")
            if (r.canvas_after[r.remasked] != self.mask_id).any():
                raise ValueError(f"step {r.step}: a remasked position does not hold the mask id")
            prev = r.canvas_after
        if self.records:
            live = self.final_canvas == self.mask_id
            if self.attention_mask is not None:
                live &= self.attention_mask
            if live.any():
                raise ValueError(f"the run ends with {int(live.sum())} positions still masked")

    def cost(self) -> dict:
        return {"forwards": sum(r.n_forward for r in self.records),
                "backwards": sum(r.n_backward for r in self.records),
                "wall_time": sum(r.wall_time for r in self.records)}

    # --- exports ----------------------------------------------------------------------------
    def to_pandas(self):
        """One row per (step, batch row, position)."""
        import pandas as pd

        frames = []
        for r in self.records:
            B, N = r.canvas_before.shape
            row, pos = np.meshgrid(np.arange(B), np.arange(N), indexing="ij")
            frames.append(pd.DataFrame({
                "step": r.step, "block": r.block, "t": r.t, "policy": r.policy,
                "row": row.ravel(), "position": pos.ravel(),
                "token_before": r.canvas_before.ravel(), "token_after": r.canvas_after.ravel(),
                "masked": r.masked.ravel(), "eligible": r.eligible.ravel(),
                "proposal": r.proposals.ravel(), "confidence": r.confidence.ravel(),
                "margin": r.margin.ravel(), "entropy": r.entropy.ravel(), "score": r.score.ravel(),
                "chosen": r.chosen.ravel(), "remasked": r.remasked.ravel(),
                "fallback": np.repeat(r.fallback, N), "n_forward": r.n_forward,
                "n_backward": r.n_backward, "wall_time": r.wall_time,
                # one column per signal any step of the trace carries, NaN/False where a step has none
                **{name: r.signal(name).ravel() for name in self.signal_names()},
            }))
        if not frames:
            return pd.DataFrame()
        df = pd.concat(frames, ignore_index=True)
        tok = self.id_to_token
        df["token_after_str"] = [tok.get(int(i), f"<{int(i)}>") for i in df["token_after"]]
        return df

    def to_parquet(self, path) -> None:
        self.to_pandas().to_parquet(path, index=False)

    def to_dict(self) -> dict:
        return {"schema": SCHEMA, "version": SCHEMA_VERSION, "model": self.model, "config": self.config,
                "initial_canvas": _encode_array(self.initial_canvas), "fixed": _encode_array(self.fixed),
                "attention_mask": None if self.attention_mask is None else _encode_array(self.attention_mask),
                "schedule": self.schedule, "mask_id": self.mask_id,
                "records": [r.to_dict() for r in self.records],
                "id_to_token": {str(k): v for k, v in self.id_to_token.items()}, "meta": self.meta,
                "counterfactuals": self.counterfactuals}

    def to_json(self, path=None) -> str:
        s = json.dumps(self.to_dict(), allow_nan=False, separators=(",", ":"))
        if path is not None:
            Path(path).write_text(s)
        return s

    @classmethod
    def from_dict(cls, d) -> "Trace":
        if not isinstance(d, dict) or d.get("schema") != SCHEMA:
            raise ValueError(f"not a BoE Explorer trace (expected schema {SCHEMA!r})")
        version = d.get("version")
        if version not in READABLE_VERSIONS:
            raise ValueError(f"trace version {version!r} is not supported (readable: {READABLE_VERSIONS})")
        try:
            am = d["attention_mask"]
            config = dict(d["config"])
            if version == 1 and "boe" in config:  # v1: policy knobs under "boe"
                config = DecodeConfig.from_dict(config).to_dict()
            return cls(model=str(d["model"]), config=config,
                       initial_canvas=_decode_array(d["initial_canvas"], "initial_canvas"),
                       fixed=_decode_array(d["fixed"], "fixed"),
                       attention_mask=None if am is None else _decode_array(am, "attention_mask"),
                       schedule=dict(d["schedule"]), mask_id=int(d["mask_id"]),
                       records=[StepRecord.from_dict(r, version) for r in d["records"]],
                       id_to_token={int(k): str(v) for k, v in d.get("id_to_token", {}).items()},
                       meta=dict(d.get("meta", {})),
                       counterfactuals=dict(d.get("counterfactuals") or {}) if version >= 4 else {})
        except KeyError as e:
            raise ValueError(f"trace is missing field {e.args[0]!r}") from None

    @classmethod
    def from_json(cls, s_or_path) -> "Trace":
        """Parse a trace from JSON text or from a file path (a Path, or a str naming an existing file)."""
        if isinstance(s_or_path, Path) or (isinstance(s_or_path, str) and len(s_or_path) < 4096
                                           and not s_or_path.lstrip().startswith(("{", "["))
                                           and Path(s_or_path).is_file()):
            s_or_path = Path(s_or_path).read_text()
        try:
            d = json.loads(s_or_path)
        except json.JSONDecodeError as e:
            raise ValueError(f"trace is not valid JSON: {e.msg} at line {e.lineno}") from None
        return cls.from_dict(d)


_DTYPES = {"int64", "bool", "float32", "float64"}


def _encode_array(a: np.ndarray) -> dict:
    dt = str(a.dtype)
    if dt not in _DTYPES:
        a, dt = a.astype(np.float32 if a.dtype.kind == "f" else np.int64), ("float32" if a.dtype.kind == "f" else "int64")
    flat = a.ravel().tolist()
    if a.dtype.kind == "f":  # JSON has no NaN/inf: encode them as strings
        flat = [x if math.isfinite(x) else ("nan" if x != x else ("inf" if x > 0 else "-inf")) for x in flat]
    return {"dtype": dt, "shape": list(a.shape), "data": flat}


def _decode_array(d, name="array") -> np.ndarray:
    if not isinstance(d, dict) or not {"dtype", "shape", "data"} <= set(d):
        raise ValueError(f"trace field {name!r} is not an encoded array")
    if d["dtype"] not in _DTYPES:
        raise ValueError(f"trace field {name!r} has unsupported dtype {d['dtype']!r}")
    data = d["data"]
    if d["dtype"].startswith("float"):
        data = [float(x) if isinstance(x, str) else x for x in data]
    a = np.asarray(data, dtype=d["dtype"])
    try:
        return a.reshape(d["shape"])
    except ValueError:
        raise ValueError(f"trace field {name!r}: {a.size} values do not fit shape {d['shape']}") from None
