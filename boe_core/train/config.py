"""Recipe configs: a dataclass holds a recipe's defaults, and its command-line flags are generated
from the fields (`--d-model` for `d_model`), so a default is written once."""
from __future__ import annotations

import argparse
from dataclasses import dataclass, field, fields


def opt(default, help: str = "", **argparse_kw):
    """A config field with its flag's help (and any argparse keyword: type, choices, nargs)."""
    return field(default=default, metadata={"help": help, **argparse_kw})


@dataclass
class OptimConfig:
    """The optimiser and schedule settings every recipe shares (each recipe sets its own defaults)."""
    lr: float = opt(1e-3)
    min_lr_frac: float = opt(0.1, "cosine decay floor, a fraction of --lr")
    warmup: int = opt(200, "linear warm-up steps")
    weight_decay: float = opt(0.1)
    grad_clip: float = opt(1.0)
    seed: int = opt(0)


def add_flags(ap: argparse.ArgumentParser, cls) -> None:
    """One flag per field of the dataclass `cls`: a False bool is a switch, other types come from
    the default (or the field's `type` when the default is None)."""
    for f in fields(cls):
        kw = dict(f.metadata)
        flag = "--" + f.name.replace("_", "-")
        if f.default is False:
            ap.add_argument(flag, dest=f.name, action="store_true", help=kw.get("help"))
            continue
        if "type" not in kw and f.default is not None and "nargs" not in kw:
            kw["type"] = type(f.default)
        if f.default is not None and "help" in kw:
            kw["help"] = (kw["help"] + " " if kw["help"] else "") + f"(default: {f.default})"
        ap.add_argument(flag, dest=f.name, default=f.default, **kw)


def parse(cls, argv, prog: str, doc: str | None):
    """An instance of the config dataclass `cls` from command-line `argv`."""
    ap = argparse.ArgumentParser(prog=prog, description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_flags(ap, cls)
    return cls(**vars(ap.parse_args(argv)))
