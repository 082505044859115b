"""``signals.models``: the built-in models by name, user models by import string —
``"mypkg.models:MyModel"`` (a module on the path) or ``"examples/ema_cross.py:EmaCross"`` (a
file) — a class (instantiated with no arguments) or an instance. Anything else is a configuration
error naming the entry and the problem (exit 78)."""

from __future__ import annotations

import importlib
import importlib.util
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from quantum_trader.core.models import BUILTIN, SignalModel
from quantum_trader.settings import ConfigError


def _import(entry: str) -> Any:
    where, _, attr = entry.rpartition(":")
    if not where or not attr:
        raise ConfigError(
            f"signals.models: {entry!r} is neither a built-in ({', '.join(BUILTIN)}) nor "
            "'module:Name' / 'file.py:Name'"
        )
    try:
        if where.endswith(".py"):
            path = Path(where).expanduser()
            spec = importlib.util.spec_from_file_location(f"qtrader_model_{path.stem}", path)
            if spec is None or spec.loader is None or not path.is_file():
                raise ImportError(f"no such file {path}")
            module = importlib.util.module_from_spec(spec)
            sys.modules[spec.name] = module
            spec.loader.exec_module(module)
        else:
            module = importlib.import_module(where)
        return getattr(module, attr)
    except Exception as exc:  # noqa: BLE001 - a user's module can fail any way: one clear line
        problem = f"{type(exc).__name__}: {exc}"
        raise ConfigError(f"signals.models: cannot load {entry!r}: {problem}") from None


def _check(entry: str, model: Any) -> SignalModel:
    if not isinstance(model, SignalModel):
        raise ConfigError(
            f"signals.models: {entry!r} is not a signal model (needs name, warmup, window and "
            "series(bars) → (votes, probabilities))"
        )
    name, warmup, window = model.name, model.warmup, model.window
    if not isinstance(name, str) or not name.isidentifier():
        raise ConfigError(f"signals.models: {entry!r} has no usable name ({name!r})")
    if not isinstance(warmup, int) or not isinstance(window, int) or not 1 <= warmup <= window:
        raise ConfigError(
            f"signals.models: {entry!r} needs whole 1 ≤ warmup ≤ window, got {warmup!r}, {window!r}"
        )
    return model


def load_models(entries: Sequence[str]) -> tuple[SignalModel, ...]:
    if not entries:
        raise ConfigError("signals.models: at least one model is needed")
    models = []
    for entry in entries:
        if entry in BUILTIN:
            models.append(BUILTIN[entry])
            continue
        obj = _import(entry)
        try:
            model = obj() if isinstance(obj, type) else obj
        except Exception as exc:  # noqa: BLE001 - the user's constructor
            raise ConfigError(f"signals.models: {entry!r} failed to start: {exc}") from None
        models.append(_check(entry, model))
    names = [m.name for m in models]
    if len(set(names)) != len(names):
        raise ConfigError(f"signals.models: two models share a name in {names}")
    return tuple(models)
