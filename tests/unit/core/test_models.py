"""Signal models as plug-ins: the windowed contract holds for every built-in and for the example
EMA cross (and fails for an EMA that remembers the whole history), the windowed EMA by hand,
consensus over any number of models, and every way a model entry can be wrong."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from quantum_trader.core.ensemble import call_at
from quantum_trader.core.features import wilder_atr
from quantum_trader.core.models import (
    BUILTIN,
    EMA_BLOCK,
    Bars,
    models_series,
    windowed_ema,
    windowed_equal,
)
from quantum_trader.core.types import Consensus, Side
from quantum_trader.settings import ConfigError
from quantum_trader.signals.plugins import load_models

ROOT = Path(__file__).resolve().parents[3]
EXAMPLE = f"{ROOT / 'examples' / 'ema_cross.py'}:EmaCross"


def bars(n: int = 700, seed: int = 1) -> Bars:
    rng = np.random.default_rng(seed)
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.003, n)))
    high, low = close * 1.002, close * 0.998
    return Bars(close, high, low, close, np.ones(n), wilder_atr(high, low, close) / close)


def test_every_builtin_and_the_example_keep_the_windowed_contract() -> None:
    b = bars()
    for model in (*BUILTIN.values(), *load_models([EXAMPLE])):
        assert windowed_equal(model, b), model.name


class WholeHistoryEma:
    """An EMA over everything since the first bar: not windowed, and the check says so."""

    name, warmup, window = "whole_ema", 30, 60

    def series(self, b: Bars) -> tuple[np.ndarray, np.ndarray]:  # type: ignore[type-arg]
        ema = np.empty(b.close.size)
        ema[0] = b.close[0]
        for i in range(1, b.close.size):
            ema[i] = 0.1 * b.close[i] + 0.9 * ema[i - 1]
        vote = np.sign(b.close - ema)
        vote[: self.warmup] = np.nan
        return vote, np.abs(b.close / ema - 1)


def test_a_model_that_remembers_everything_breaks_the_contract() -> None:
    assert not windowed_equal(WholeHistoryEma(), bars())


def test_the_windowed_ema_by_hand() -> None:
    x = np.array([1.0, 2.0, 3.0, 4.0])
    # span 3 → α = 0.5; the window of 3 ending at bar 2: 1 → 1.5 → 2.25; at bar 3: 2 → 2.5 → 3.25
    out = windowed_ema(x, 3, 3)
    assert np.isnan(out[:2]).all() and out[2:].tolist() == [2.25, 3.25]
    assert windowed_ema(x, 1, 2)[1:].tolist() == [2.0, 3.0, 4.0]  # α = 1: the last value


def test_the_windowed_ema_in_blocks_equals_each_window_alone() -> None:
    """Blocks of rows (no bars × window product in memory) change no bit: every bar's value over
    a series longer than several blocks equals the last value of the call on its window alone."""
    x = 100.0 + np.cumsum(np.random.default_rng(3).normal(size=EMA_BLOCK * 3 + 17))
    whole = windowed_ema(x, 12, 50)
    alone = [windowed_ema(x[i - 49 : i + 1], 12, 50)[-1] for i in range(49, x.size)]
    assert np.isnan(whole[:49]).all() and whole[49:].tolist() == alone


def test_consensus_and_confidence_over_any_number_of_models() -> None:
    [ema] = load_models([EXAMPLE])
    b = bars(1_500)
    one = models_series((ema,), b)
    i = int(np.flatnonzero(np.nan_to_num(one.votes[:, 0]) != 0)[0])
    call = call_at(one, i)
    assert call.consensus is Consensus.UNANIMOUS and call.confidence == pytest.approx(0.66)
    three = models_series((BUILTIN["trend"], BUILTIN["momentum"], ema), b)
    assert three.names == ("trend", "momentum", "ema_cross") and three.warmup == ema.warmup
    c = call_at(three, i)
    assert c.side in (Side.LONG, Side.SHORT, None) and len(c.votes) in (0, 3)


@pytest.mark.parametrize(
    ("entry", "problem"),
    [
        ("nonsense", "neither a built-in"),
        ("no.such.module:Model", "cannot load 'no.such.module:Model': ModuleNotFoundError"),
        ("/nowhere/model.py:Model", "cannot load"),
        (f"{ROOT / 'examples' / 'ema_cross.py'}:Missing", "AttributeError"),
        ("quantum_trader.core.models:Bars", "failed to start"),
        ("numpy:pi", "is not a signal model"),
    ],
)
def test_a_bad_model_entry_is_one_clear_error(entry: str, problem: str) -> None:
    with pytest.raises(ConfigError, match=problem.replace("(", r"\(")):
        load_models([entry])


def test_two_models_with_one_name_are_refused() -> None:
    with pytest.raises(ConfigError, match="share a name"):
        load_models(["trend", "trend"])
