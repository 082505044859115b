"""What a sweep tries, pure: the parameters (config keys with values or ranges), the trials drawn
from them (grid, random by seed), the settings of one trial, and walk-forward windows.

A parameter is ``section.key=v1,v2,…`` (choices) or ``section.key=lo:hi`` (a range: integers
when both ends are, else floats). Values are read as JSON where they parse (``true``, ``3``,
``0.01``, ``"15m"``), else as text. A grid takes every combination of choices (a range needs
``--search random`` or ``optuna``); random draws each parameter independently from its choices or
uniformly from its range, from one seeded generator, so a seed names the same trials.
"""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass
from typing import Any

import numpy as np

from quantum_trader.core.errors import InvalidInput

Value = bool | int | float | str


@dataclass(frozen=True, slots=True)
class Param:
    key: str  # "section.key"
    choices: tuple[Value, ...] = ()
    low: float | None = None
    high: float | None = None
    integer: bool = False

    @property
    def is_range(self) -> bool:
        return self.low is not None


def _value(text: str) -> Value:
    try:
        value = json.loads(text)
    except json.JSONDecodeError:
        return text
    if isinstance(value, bool | int | float | str):
        return value
    raise InvalidInput("--param", f"{text!r}: a value is a number, true/false or text")


def parse_param(spec: str) -> Param:
    key, sep, rest = spec.partition("=")
    key = key.strip()
    if not sep or key.count(".") != 1 or not rest.strip():
        raise InvalidInput("--param", f"{spec!r}: expected section.key=v1,v2 or section.key=lo:hi")
    if ":" in rest and "," not in rest:
        lo_text, _, hi_text = rest.partition(":")
        lo, hi = _value(lo_text.strip()), _value(hi_text.strip())
        if not all(isinstance(x, int | float) and not isinstance(x, bool) for x in (lo, hi)):
            raise InvalidInput("--param", f"{spec!r}: a range is two numbers, lo:hi")
        assert isinstance(lo, int | float) and isinstance(hi, int | float)  # noqa: S101
        if not lo < hi:
            raise InvalidInput("--param", f"{spec!r}: the range's low end must be below its high")
        both_int = isinstance(lo, int) and isinstance(hi, int)
        return Param(key, low=float(lo), high=float(hi), integer=both_int)
    choices = tuple(_value(v.strip()) for v in rest.split(","))
    return Param(key, choices=choices)


def grid(params: list[Param]) -> list[dict[str, Value]]:
    ranged = [p.key for p in params if p.is_range]
    if ranged:
        raise InvalidInput("--search", f"a grid needs choices, not ranges: {', '.join(ranged)}")
    keys = [p.key for p in params]
    return [dict(zip(keys, combo, strict=True)) for combo in itertools.product(
        *(p.choices for p in params))]  # fmt: skip


def draw(param: Param, rng: np.random.Generator) -> Value:
    if not param.is_range:
        return param.choices[int(rng.integers(len(param.choices)))]
    assert param.low is not None and param.high is not None  # noqa: S101
    if param.integer:
        return int(rng.integers(int(param.low), int(param.high) + 1))
    return float(rng.uniform(param.low, param.high))


def random_trials(params: list[Param], n: int, seed: int) -> list[dict[str, Value]]:
    rng = np.random.default_rng(seed)
    return [{p.key: draw(p, rng) for p in params} for _ in range(n)]


def with_overrides(base: dict[str, Any], overrides: dict[str, Value]) -> dict[str, Any]:
    """The base settings (a model dump) with each ``section.key`` replaced; unknown sections
    and keys are named (the settings validate the values)."""
    out = {section: dict(values) for section, values in base.items()}
    for dotted, value in overrides.items():
        section, key = dotted.split(".")
        if section not in out or not isinstance(out[section], dict) or key not in out[section]:
            raise InvalidInput("--param", f"{dotted}: no such setting")
        out[section][key] = value
    return out


@dataclass(frozen=True, slots=True)
class Window:
    index: int
    start_ms: int  # first candle (open time), inclusive
    end_ms: int  # last candle, exclusive
    role: str  # "all", "in-sample" or "out-of-sample"


def slices(first_ms: int, last_ms: int, n: int) -> list[Window]:
    """``n`` consecutive equal windows over [first_ms, last_ms] (1: the whole range)."""
    if n < 1:
        raise InvalidInput("--walk-forward", f"needs at least one window, got {n}")
    edges = np.linspace(first_ms, last_ms + 1, n + 1).astype(np.int64)
    role = "all" if n == 1 else "slice"
    return [Window(i, int(edges[i]), int(edges[i + 1]), role) for i in range(n)]
