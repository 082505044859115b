"""Parity: ``qtrader run --paper --feed replay FILE --speed max`` and ``qtrader backtest --data
FILE`` make the same trades — entries, exits, quantities and PnL to the cent — on the March 2023
BTC file, at the most aggressive allowed settings (confidence forced high, max leverage 80), where
there are also no liquidations and every stop sits before its liquidation price."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from quantum_trader.store.trades import read_trades
from tests.integration.helpers import qtrader_env, run_qtrader

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"
BTC = DATA / "BTCUSDT-1m-2023-03-binanceus.csv"
pytestmark = pytest.mark.skipif(not BTC.exists(), reason="../shared/data is not beside the project")


def _env(state: Path) -> dict[str, str]:
    return qtrader_env(
        state,
        QT_SIGNALS__FORCE_CONFIDENCE="0.95",
        QT_LEVERAGE__MAX_LEVERAGE="80",
        QT_EDGE__MODE="off",  # BTC has no edge: gated, both would trade only the 2 probes
    )


def _qtrader(env: dict[str, str], *args: str) -> None:
    run_qtrader(env, *args)


def test_daemon_replay_and_backtest_make_the_same_trades(tmp_path: Path) -> None:
    daemon_state, backtest_state, out = tmp_path / "d", tmp_path / "b", tmp_path / "out"
    _qtrader(_env(daemon_state), "run", "--paper", "--feed", "replay", str(BTC), "--speed", "max")
    _qtrader(_env(backtest_state), "backtest", "--data", str(BTC), "--out", str(out), "--no-report")
    daemon = read_trades(daemon_state / "closed_trades.jsonl")
    with (out / "trades.csv").open() as handle:
        backtest = list(csv.DictReader(handle))
    assert len(daemon) >= 50, "the stress settings must trade a lot"
    assert len(daemon) == len(backtest)
    for d, b in zip(daemon, backtest, strict=True):
        assert d["intent_id"] == b["intent_id"]
        assert (d["opened_ts"], d["closed_ts"]) == (int(b["entry_ts"]), int(b["exit_ts"]))
        assert d["entry_price"] == float(b["entry_price"])
        assert d["exit_price"] == float(b["exit_price"])
        assert d["qty"] == float(b["qty"])
        assert round(float(d["pnl"]), 2) == round(float(b["pnl"]), 2)  # type: ignore[arg-type]
        assert d["exit_reason"] == b["exit_reason"]
    for b in backtest:  # the liquidation guard held on every trade
        sl, liq = float(b["sl_price"]), float(b["liquidation_price"])
        assert (sl > liq) if b["side"] == "LONG" else (sl < liq), b
    metrics = (out / "metrics.json").read_text()
    assert '"liquidations": 0' in metrics
