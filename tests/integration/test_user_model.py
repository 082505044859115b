"""A user model from examples/ trades in the daemon and in a backtest with identical trades: the
daemon replays the file through its live path (the model called on the last `window` bars at
every candle), the backtest calls it once over the whole file."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from quantum_trader.feeds.synthetic import TREND_DRIFT, SyntheticMarket
from quantum_trader.store.trades import read_trades
from tests.integration.helpers import qtrader_env, run_qtrader

ROOT = Path(__file__).resolve().parents[2]
MODEL = f"{ROOT / 'examples' / 'ema_cross.py'}:EmaCross"


def _file(tmp: Path, bars: int = 4_000) -> Path:
    market = SyntheticMarket(("SOL/USDT:USDT",), seed=11, drift=TREND_DRIFT)
    rows = ["timestamp_ms,open,high,low,close,volume"]
    for i in range(bars):
        c, _ = market.next_candle("SOL/USDT:USDT", 1_704_067_200_000 + i * 60_000)
        rows.append(f"{c.ts},{c.open!r},{c.high!r},{c.low!r},{c.close!r},{c.volume!r}")
    path = tmp / "SOLUSDT-1m.csv"
    path.write_text("\n".join(rows) + "\n")
    return path


def _env(state: Path) -> dict[str, str]:
    models = json.dumps([MODEL])
    return qtrader_env(
        state, QT_SIGNALS__MODELS=models, QT_SIGNALS__FORCE_CONFIDENCE="0.9", QT_EDGE__MODE="off"
    )


def _qtrader(env: dict[str, str], *args: str) -> str:
    return run_qtrader(env, *args, timeout=150)


def test_the_example_model_trades_the_same_in_the_daemon_and_the_backtest(tmp_path: Path) -> None:
    data = _file(tmp_path)
    daemon_state, out = tmp_path / "d", tmp_path / "out"
    _qtrader(_env(daemon_state), "run", "--paper", "--feed", "replay", str(data), "--speed", "max")
    _qtrader(
        _env(tmp_path / "b"), "backtest", "--data", str(data), "--out", str(out), "--no-report"
    )
    daemon = read_trades(daemon_state / "closed_trades.jsonl")
    with (out / "trades.csv").open() as handle:
        backtest = list(csv.DictReader(handle))
    assert len(daemon) >= 10, "the example model must trade"
    assert [d["intent_id"] for d in daemon] == [b["intent_id"] for b in backtest]
    for d, b in zip(daemon, backtest, strict=True):
        assert (d["opened_ts"], d["closed_ts"]) == (int(b["entry_ts"]), int(b["exit_ts"]))
        assert (d["entry_price"], d["exit_price"]) == (
            float(b["entry_price"]),
            float(b["exit_price"]),
        )
        assert d["qty"] == float(b["qty"])
        assert b["voters"] == "ema_cross"  # attribution: the user's model voted each trade
