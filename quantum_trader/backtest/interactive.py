"""The interactive backtest report: one self-contained HTML file (plotly, its JavaScript inlined —
no CDN, opens offline) with, per symbol, the price with every entry and exit marked and each
trade's stop and TP levels drawn over its life, then the account's equity and drawdown under it,
risk trips as vertical lines, and the trades table with entry/exit times and ROE in %."""

from __future__ import annotations

import html
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from quantum_trader.backtest.metrics import Metrics, drawdown
from quantum_trader.backtest.recorder import TradeRow
from quantum_trader.feeds.loader import CandleSeries

MAX_POINTS = 20_000  # price points drawn per symbol (evenly thinned beyond; markers are exact)


def _when(ms: int) -> str:
    return str(np.datetime64(int(ms), "ms")).replace("T", " ")[:19]


def _levels(trades: Sequence[TradeRow]) -> dict[str, tuple[list[object], list[object]]]:
    """Each level as a segment from entry to exit, None-separated (one trace per level kind)."""
    out: dict[str, tuple[list[object], list[object]]] = {}
    for t in trades:
        a, b = np.datetime64(t.entry_ts, "ms"), np.datetime64(t.exit_ts, "ms")
        for name, price in (("stop", t.sl_price), ("TP1", t.tp1_price), ("TP2", t.tp2_price),
                            ("TP3", t.tp3_price)):  # fmt: skip
            xs, ys = out.setdefault(name, ([], []))
            xs += [a, b, None]
            ys += [price, price, None]
    return out


def figure(
    series: Sequence[CandleSeries],
    trades: Sequence[TradeRow],
    ts: Sequence[int],
    equity: Sequence[float],
    trips: Sequence[tuple[str, int]],
    title: str,
) -> object:
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    rows = len(series) + 2
    heights = [3.0] * len(series) + [1.6, 0.9]
    fig = make_subplots(
        rows=rows, cols=1, shared_xaxes=True, vertical_spacing=0.03, row_heights=heights,
        subplot_titles=[*(s.symbol for s in series), "equity (USDT)", "drawdown"],
    )  # fmt: skip
    colours = {"stop": "#c0392b", "TP1": "#27ae60", "TP2": "#1e8449", "TP3": "#145a32"}
    for row, s in enumerate(series, start=1):
        step = max(1, len(s) // MAX_POINTS)
        x = (s.ts[::step] + s.timeframe_ms).astype("datetime64[ms]")
        fig.add_trace(go.Scattergl(x=x, y=s.close[::step], name=f"{s.symbol} close",
                                   line={"color": "#555", "width": 1}), row=row, col=1)  # fmt: skip
        mine = [t for t in trades if t.symbol == s.symbol]
        for name, (xs, ys) in _levels(mine).items():
            fig.add_trace(go.Scatter(x=xs, y=ys, mode="lines", name=name, legendgroup=name,
                                     showlegend=row == 1, line={"color": colours[name],
                                     "width": 1, "dash": "dot"}), row=row, col=1)  # fmt: skip
        for kind, when, price, symbol in (("entry", "entry_ts", "entry_price", "triangle-up"),
                                          ("exit", "exit_ts", "exit_price", "x")):  # fmt: skip
            fig.add_trace(go.Scatter(
                x=[np.datetime64(getattr(t, when), "ms") for t in mine],
                y=[getattr(t, price) for t in mine], mode="markers", name=kind, legendgroup=kind,
                showlegend=row == 1,
                marker={"symbol": symbol, "size": 9, "color": ["#1f5fa8" if t.side == "LONG"
                        else "#d35400" for t in mine] if kind == "entry" else "#222"},
                text=[f"{t.intent_id} {t.side} {t.exit_reason} ROE {t.roe:+.2%}" for t in mine],
            ), row=row, col=1)  # fmt: skip
    x = np.asarray(ts, dtype="datetime64[ms]")
    e = np.asarray(equity, dtype=np.float64)
    step = max(1, e.size // MAX_POINTS)
    fig.add_trace(go.Scattergl(x=x[::step], y=e[::step], name="equity",
                               line={"color": "#1f5fa8"}), row=rows - 1, col=1)  # fmt: skip
    dd = -drawdown(e)
    fig.add_trace(go.Scattergl(x=x[::step], y=dd[::step], name="drawdown", fill="tozeroy",
                               line={"color": "#c0392b"}), row=rows, col=1)  # fmt: skip
    for trip, at in trips:
        fig.add_vline(x=np.datetime64(at, "ms"), line={"color": "#8e44ad", "dash": "dash"},
                      annotation_text=trip)  # fmt: skip
    fig.update_layout(title=title, height=320 * len(series) + 420, hovermode="x unified",
                      template="plotly_white")  # fmt: skip
    fig.update_yaxes(tickformat=".1%", row=rows, col=1)
    return fig


def trades_table(trades: Sequence[TradeRow], limit: int = 1_000) -> str:
    head = ("symbol", "side", "entry", "exit", "entry price", "exit price", "leverage", "legs",
            "exit reason", "fees", "pnl (USDT)", "ROE")  # fmt: skip
    body = []
    for t in trades[:limit]:
        cells = (t.symbol, t.side, _when(t.entry_ts), _when(t.exit_ts), f"{t.entry_price:.6g}",
                 f"{t.exit_price:.6g}", f"{t.leverage}x", str(t.legs_hit), t.exit_reason,
                 f"{t.fees:.2f}", f"{t.pnl:+.2f}", f"{t.roe:+.2%}")  # fmt: skip
        tds = "".join(f"<td>{html.escape(c)}</td>" for c in cells)
        body.append(f"<tr class='{'win' if t.pnl > 0 else 'loss'}'>{tds}</tr>")
    more = f"<p>… {len(trades) - limit} more in trades.csv</p>" if len(trades) > limit else ""
    ths = "".join(f"<th>{h}</th>" for h in head)
    return f"<table><tr>{ths}</tr>{''.join(body)}</table>{more}"


def write_interactive(
    path: Path,
    title: str,
    m: Metrics,
    series: Sequence[CandleSeries],
    trades: Sequence[TradeRow],
    ts: Sequence[int],
    equity: Sequence[float],
) -> Path:
    fig = figure(series, trades, ts, equity, m.risk_trip_times, title)
    chart = fig.to_html(full_html=False, include_plotlyjs=True)  # type: ignore[attr-defined]
    summary = (
        f"{m.trades} trades, win rate {m.win_rate:.1%}, net {m.realised_pnl:+,.2f} USDT (fees "
        f"{m.fees:,.2f}), return {m.total_return:+.2%}, max drawdown {m.max_drawdown:.2%}"
    )
    path.write_text(f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 1.5em; color: #222; }}
table {{ border-collapse: collapse; margin: 1em 0; }}
th, td {{ border: 1px solid #ddd; padding: 3px 7px; text-align: right; font-size: 12px; }}
tr.win td {{ background: #eef8ee; }} tr.loss td {{ background: #fbeeee; }}
</style></head><body>
<h1>{html.escape(title)}</h1><p id="summary">{html.escape(summary)}</p>
{chart}
<h2>Trades ({m.trades})</h2>{trades_table(trades)}
</body></html>
""", encoding="utf-8")  # fmt: skip
    return path
