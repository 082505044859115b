#!/usr/bin/env python3
"""qtrader against freqtrade on the same file in the same sitting: freqtrade's EmaCross1226 rules
(long when EMA 12 crosses above EMA 26, out when it crosses below, a 2 % stop, a 3 % take profit,
0.1 % fees) on the shared synthetic year, each side run in turn (pairs), wall and peak RSS from the
operating system's accounting of each finished process.

    python3 -m venv /tmp/ftvenv && /tmp/ftvenv/bin/pip install freqtrade
    .venv/bin/python bench/freqtrade_bench.py --freqtrade /tmp/ftvenv/bin/freqtrade [--repeat 3]

freqtrade is not one of this project's dependencies: it is installed apart (above) and only run.
Offline, freqtrade cannot load Binance's markets, so this script serves the one market it needs
(BTC/USDT spot's exchangeInfo, a static answer) on 127.0.0.1 and points freqtrade's ccxt there;
nothing else leaves the machine. The strategy below is written here from the rules (a few lines of
pandas), not copied. Prints trades, wall seconds and peak RSS per side (medians) and the ratios the
issue's targets name (qtrader ≥ 10× faster, ≤ 0.5× the RSS). Asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
from backtest_bench import ensure_synth  # noqa: E402

STRATEGY = """
from pandas import DataFrame
from freqtrade.strategy import IStrategy


class EmaCross1226(IStrategy):
    timeframe = "1m"
    minimal_roi = {"0": 0.03}
    stoploss = -0.02
    startup_candle_count = 208
    process_only_new_candles = True

    def populate_indicators(self, df: DataFrame, metadata: dict) -> DataFrame:
        df["fast"] = df["close"].ewm(span=12, adjust=False).mean()
        df["slow"] = df["close"].ewm(span=26, adjust=False).mean()
        return df

    def populate_entry_trend(self, df: DataFrame, metadata: dict) -> DataFrame:
        up = (df["fast"] > df["slow"]) & (df["fast"].shift(1) <= df["slow"].shift(1))
        df.loc[up, "enter_long"] = 1
        return df

    def populate_exit_trend(self, df: DataFrame, metadata: dict) -> DataFrame:
        down = (df["fast"] < df["slow"]) & (df["fast"].shift(1) >= df["slow"].shift(1))
        df.loc[down, "exit_long"] = 1
        return df
"""

CONVERT = """
import sys, pandas as pd
df = pd.read_csv(sys.argv[1])
df["date"] = pd.to_datetime(df.pop("timestamp_ms"), unit="ms", utc=True)
df[["date", "open", "high", "low", "close", "volume"]].to_feather(sys.argv[2])
"""

FILTERS = [
    {"filterType": "PRICE_FILTER", "minPrice": "0.01", "maxPrice": "1e6", "tickSize": "0.01"},
    {"filterType": "LOT_SIZE", "minQty": "0.00001", "maxQty": "9000.00", "stepSize": "0.00001"},
    {"filterType": "NOTIONAL", "minNotional": "5.0", "applyMinToMarket": True,
     "maxNotional": "9000000.0", "applyMaxToMarket": False, "avgPriceMins": 5},
]  # fmt: skip
MARKET = {
    "symbol": "BTCUSDT", "status": "TRADING", "baseAsset": "BTC", "baseAssetPrecision": 8,
    "quoteAsset": "USDT", "quotePrecision": 8, "quoteAssetPrecision": 8,
    "orderTypes": ["LIMIT", "LIMIT_MAKER", "MARKET", "STOP_LOSS_LIMIT", "TAKE_PROFIT_LIMIT"],
    "isSpotTradingAllowed": True, "isMarginTradingAllowed": False, "filters": FILTERS,
    "permissions": ["SPOT"], "permissionSets": [["SPOT"]],
}  # fmt: skip


class Markets(BaseHTTPRequestHandler):
    """Binance spot's exchangeInfo with the one market, and its server time."""

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        now = int(time.time() * 1000)
        if self.path.startswith("/api/v3/exchangeInfo"):
            body: dict[str, object] = {"timezone": "UTC", "serverTime": now, "rateLimits": [],
                                       "exchangeFilters": [], "symbols": [MARKET]}  # fmt: skip
        elif self.path.startswith("/api/v3/time"):
            body = {"serverTime": now}
        else:
            self.send_error(404)
            return
        data = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: object) -> None:
        return None


def freqtrade_dir(tmp: Path, freqtrade: Path, synth: Path, port: int) -> Path:
    user = tmp / "user_data"
    (user / "strategies").mkdir(parents=True)
    (user / "data" / "binance").mkdir(parents=True)
    (user / "strategies" / "EmaCross1226.py").write_text(STRATEGY)
    python = freqtrade.parent / "python"  # freqtrade's own venv has pandas
    feather = user / "data" / "binance" / "BTC_USDT-1m.feather"
    subprocess.run([str(python), "-c", CONVERT, str(synth), str(feather)], check=True)  # noqa: S603
    api = {k: f"http://127.0.0.1:{port}/api/v3" for k in ("public", "private", "v3")}
    ccxt = {"urls": {"api": api}, "options": {"fetchMarkets": {"types": ["spot"]}}}
    config = {
        "max_open_trades": 1, "stake_currency": "USDT", "stake_amount": 1000,
        "dry_run": True, "dry_run_wallet": 1e12,  # never short of stake: every cross trades
        "trading_mode": "spot", "timeframe": "1m", "fee": 0.001, "dataformat_ohlcv": "feather",
        "exchange": {"name": "binance", "key": "", "secret": "", "pair_whitelist": ["BTC/USDT"],
                     "pair_blacklist": [], "ccxt_config": ccxt, "ccxt_async_config": ccxt},
        "pairlists": [{"method": "StaticPairList"}],
        "entry_pricing": {"price_side": "same", "use_order_book": False, "order_book_top": 1},
        "exit_pricing": {"price_side": "same", "use_order_book": False, "order_book_top": 1},
    }  # fmt: skip
    (tmp / "config.json").write_text(json.dumps(config))
    return user


def timed(cmd: list[str], cwd: Path) -> tuple[float, float, str]:
    """(wall s, peak RSS MB, stdout) of one process."""
    started = time.perf_counter()
    with tempfile.TemporaryFile() as out:
        proc = subprocess.Popen(cmd, cwd=cwd, stdout=out, stderr=subprocess.STDOUT)  # noqa: S603
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - started
        out.seek(0)
        text = out.read().decode(errors="replace")
    if status != 0:
        raise SystemExit(f"failed (status {status}): {' '.join(cmd)}\n{text[-2000:]}")
    return wall, usage.ru_maxrss / 1024, text


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument(
        "--freqtrade", type=Path, default=shutil.which("freqtrade"), help="its executable"
    )
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    if args.freqtrade is None or not Path(args.freqtrade).exists():
        raise SystemExit(f"{args.freqtrade}: not found (install it apart: see this file's doc)")
    freqtrade = Path(args.freqtrade)
    synth = ensure_synth()
    server = ThreadingHTTPServer(("127.0.0.1", 0), Markets)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    ft_runs, qt_runs = [], []
    with tempfile.TemporaryDirectory() as raw:
        tmp = Path(raw)
        user = freqtrade_dir(tmp, freqtrade, synth, server.server_address[1])
        config = str(tmp / "config.json")
        ft_cmd = [str(freqtrade), "backtesting", "--config", config, "--userdir", str(user),
                  "--strategy", "EmaCross1226", "--cache", "none"]  # fmt: skip
        for r in range(args.repeat):
            out = tmp / f"qt{r}"
            qt_cmd = [sys.executable, "-m", "quantum_trader", "backtest", "--no-report",
                      "--config", str(ROOT / "bench" / "ema_cross.toml"), "--no-progress",
                      "--log-level", "ERROR", "--out", str(out), "--data", str(synth)]  # fmt: skip
            wall, rss, _ = timed(qt_cmd, ROOT)
            qt_trades = sum(1 for _ in (out / "trades.csv").open()) - 1
            qt_runs.append((wall, rss, qt_trades))
            wall, rss, text = timed(ft_cmd, tmp)
            found = re.search(r"EmaCross1226\s*│\s*(\d+)\s*│", text)
            ft_runs.append((wall, rss, int(found.group(1)) if found else -1))
    server.shutdown()
    print(f"EMA 12/26 cross, long only, 2 % stop, 3 % TP, 0.1 % fee — the synthetic year "
          f"(525,600 1m bars), {args.repeat} pairs, run in turn")  # fmt: skip
    print(f"{'':<24}{'trades':>8}{'wall s':>9}{'RSS MB':>9}")
    for name, runs in (("qtrader, full pipeline", qt_runs), ("freqtrade backtesting", ft_runs)):
        wall = statistics.median(r[0] for r in runs)
        print(f"{name:<24}{runs[0][2]:>8}{wall:>9.2f}{max(r[1] for r in runs):>9.0f}")
    speed = [f[0] / q[0] for q, f in zip(qt_runs, ft_runs, strict=True)]
    rss = max(r[1] for r in qt_runs) / max(r[1] for r in ft_runs)
    print(
        f"qtrader is {statistics.median(speed):.2f}× faster (pairs {min(speed):.2f}–"
        f"{max(speed):.2f}; target ≥ 10×) with {rss:.2f}× freqtrade's peak RSS (target ≤ 0.5×)"
    )


if __name__ == "__main__":
    main()
