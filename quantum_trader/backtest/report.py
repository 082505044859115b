"""Backtest outputs: trades CSV, metrics JSON, an equity + drawdown PNG and a self-contained HTML
report (the PNG inlined) that opens in any browser."""

from __future__ import annotations

import base64
import csv
import html
import io
import json
from collections.abc import Sequence
from dataclasses import asdict, fields
from pathlib import Path

import numpy as np
import numpy.typing as npt

from quantum_trader.backtest.metrics import Metrics, drawdown
from quantum_trader.backtest.recorder import TradeRow

ENVELOPE_BUCKETS = 2_000  # the PNG's lines: each bucket's low and high, ~4,000 points


def write_trades(path: Path, trades: Sequence[TradeRow]) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=[f.name for f in fields(TradeRow)])
        writer.writeheader()
        for t in trades:
            writer.writerow(t.as_dict())


def envelope(y: npt.NDArray[np.float64], buckets: int = ENVELOPE_BUCKETS) -> npt.NDArray[np.intp]:
    """The indices of each bucket's lowest and highest value (in order), the first and the last:
    a line through them looks like the whole series at plot width, every spike kept."""
    n = y.size
    size = n // buckets
    if size < 3:
        return np.arange(n)
    rows = y[: size * buckets].reshape(buckets, size)
    base = np.arange(buckets) * size
    picks = [base + rows.argmin(axis=1), base + rows.argmax(axis=1)]
    tail = y[size * buckets :]
    if tail.size:
        picks.append(size * buckets + np.array([tail.argmin(), tail.argmax()]))
    return np.unique(np.concatenate([[0, n - 1], *picks]))


def import_plotting() -> None:
    """Import matplotlib (a third of a second), headless: only reports need it. A backtest that
    will write one starts this on a thread before its precompute, whose numpy work leaves the
    interpreter free much of the time; ``plot`` then finds it imported (or waits for it)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot  # noqa: F401


def plot(ts: Sequence[int], equity: Sequence[float], title: str) -> bytes:
    import_plotting()
    import matplotlib.pyplot as plt

    x = np.asarray(ts, dtype="datetime64[ms]")
    e = np.asarray(equity, dtype=np.float64)
    dd = -100 * drawdown(e)
    at_e, at_dd = envelope(e), envelope(dd)  # a 1,210-pixel-wide plot of a year of minutes
    fig, (top, bottom) = plt.subplots(
        2, 1, figsize=(11, 6), sharex=True, gridspec_kw={"height_ratios": [3, 1]}
    )
    top.plot(x[at_e], e[at_e], color="#1f5fa8", linewidth=1.0)
    top.set_ylabel("equity (USDT)")
    top.set_title(title)
    top.grid(alpha=0.3)
    bottom.fill_between(x[at_dd], dd[at_dd], 0, color="#c0392b", alpha=0.6)
    bottom.set_ylabel("drawdown (%)")
    bottom.grid(alpha=0.3)
    fig.autofmt_xdate()
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110)
    plt.close(fig)
    return buffer.getvalue()


def _metrics_table(m: Metrics) -> str:
    rows = []
    for key, value in asdict(m).items():
        shown = (
            f"{value:.4%}"
            if key in {"total_return", "max_drawdown", "win_rate", "exposure"}
            or key.endswith("hit_rate")
            else (f"{value:,.4f}" if isinstance(value, float) else str(value))
        )
        rows.append(f"<tr><th>{html.escape(key)}</th><td>{html.escape(shown)}</td></tr>")
    return "<table class='m'>" + "".join(rows) + "</table>"


def _trades_table(trades: Sequence[TradeRow], limit: int = 500) -> str:
    cols = [
        "symbol",
        "side",
        "entry_price",
        "exit_price",
        "qty",
        "leverage",
        "legs_hit",
        "exit_reason",
        "fees",
        "funding",
        "pnl",
        "roe",
    ]
    head = "".join(f"<th>{c}</th>" for c in cols)
    body = []
    for t in trades[:limit]:
        d = t.as_dict()
        cells = "".join(
            f"<td>{html.escape(f'{d[c]:.6g}' if isinstance(d[c], float) else str(d[c]))}</td>"
            for c in cols
        )
        body.append(f"<tr class='{'win' if t.pnl > 0 else 'loss'}'>{cells}</tr>")
    more = f"<p>… {len(trades) - limit} more in trades.csv</p>" if len(trades) > limit else ""
    return f"<table class='t'><tr>{head}</tr>{''.join(body)}</table>{more}"


def html_report(title: str, m: Metrics, png: bytes, trades: Sequence[TradeRow]) -> str:
    image = base64.b64encode(png).decode()
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2em; color: #222; }}
table {{ border-collapse: collapse; margin: 1em 0; }}
th, td {{ border: 1px solid #ddd; padding: 4px 8px; text-align: right; font-size: 13px; }}
table.m th {{ text-align: left; background: #f4f6f8; }}
tr.win td {{ background: #eef8ee; }} tr.loss td {{ background: #fbeeee; }}
img {{ max-width: 100%; }}
</style></head><body>
<h1>{html.escape(title)}</h1>
<img alt="equity and drawdown" src="data:image/png;base64,{image}">
<h2>Metrics</h2>{_metrics_table(m)}
<h2>Trades ({m.trades})</h2>{_trades_table(trades)}
</body></html>
"""


def write_all(
    out: Path,
    title: str,
    m: Metrics,
    trades: Sequence[TradeRow],
    ts: Sequence[int],
    equity: Sequence[float],
) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    write_trades(out / "trades.csv", trades)
    (out / "metrics.json").write_text(json.dumps(asdict(m), indent=2))
    png = plot(ts, equity, title)
    (out / "equity.png").write_bytes(png)
    (out / "report.html").write_text(html_report(title, m, png, trades), encoding="utf-8")
    return [out / n for n in ("trades.csv", "metrics.json", "equity.png", "report.html")]
