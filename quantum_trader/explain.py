"""Render one :class:`Decision` for people (a table) and for machines (a JSON-ready dict)."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from quantum_trader.core.decision import Decision


def decision_dict(d: Decision) -> dict[str, Any]:
    """The whole decision; distances are fractions of entry, ``roe`` = distance × leverage."""
    g, lv, sz, px = d.guard, d.levels, d.sizing, d.prices
    check = g.check
    out: dict[str, Any] = {
        "accepted": d.accepted,
        "refused": d.refused,
        "side": str(d.inputs.side),
        "entry_price": d.inputs.entry_price,
        "equity": d.inputs.equity,
        "leverage_raw": round(d.ilf.raw, 6),
        "leverage_unclamped": round(d.ilf.unclamped, 6),
        "leverage_ilf": d.ilf.leverage,
        "leverage": d.leverage,
        "factors": {k: round(v, 6) for k, v in asdict(d.ilf.factors).items()},
        "clamped_inputs": list(d.ilf.clamped_inputs),
        "reasoning": d.ilf.reasoning,
        "guard": {
            "action": str(g.action),
            "requested": g.requested,
            "after_bracket": g.after_bracket,
            "leverage": g.leverage,
            "reason": g.reason,
            "liquidation_price": round(check.liquidation_price, 8) if check else None,
            "liquidation_distance": round(check.liquidation_distance, 8) if check else None,
            "sl_limit": round(check.sl_limit, 8) if check else None,
            "mmr": check.mmr if check else None,
            "cum": check.cum if check else None,
        },
        "levels": None,
        "sizing": None,
    }
    if lv is not None:
        out["levels"] = {
            "lsf": round(lv.lsf, 8),
            "tp1": round(lv.tp1, 8),
            "tp2": round(lv.tp2, 8),
            "tp3": round(lv.tp3, 8),
            "sl": round(lv.sl, 8),
            "harvest": list(lv.harvest),
            "base_tp": lv.base_tp,
            "base_sl": lv.base_sl,
            "bits": list(lv.bits),
            "roe": {
                k: round(v * lv.leverage, 6)
                for k, v in (("tp1", lv.tp1), ("tp2", lv.tp2), ("tp3", lv.tp3), ("sl", -lv.sl))
            },
            "prices": asdict(px) if px else None,
        }
    if sz is not None:
        out["sizing"] = {
            "multiplier": round(sz.multiplier, 6),
            "multiplier_source": d.multiplier_source,
            "margin_requested": round(sz.margin_requested, 6),
            "margin": round(sz.margin, 6),
            "notional": round(sz.notional, 6),
            "qty": sz.qty,
            "risk_at_stop": round(sz.risk_at_stop, 6),
            "caps": {k: round(v, 6) for k, v in sz.caps.items()},
            "caps_bound": list(sz.caps_bound),
            "rejected": sz.rejected,
        }
    return out


def _rows(title: str, rows: list[tuple[str, str]]) -> list[str]:
    width = max((len(k) for k, _ in rows), default=0)
    return [title, *(f"  {k:<{width}}  {v}" for k, v in rows), ""]


def decision_table(d: Decision) -> str:
    """A readable, aligned summary of the decision."""
    f, g = d.ilf.factors, d.guard
    lines = _rows(
        f"ILFv2 leverage — {d.inputs.side} at {d.inputs.entry_price:,.2f}",
        [
            ("base", f"{f.base:.4f}  (5 + conf × 75)"),
            ("× volatility", f"{f.volatility:.4f}"),
            ("× pnl trend", f"{f.pnl:.4f}"),
            ("× symbol risk", f"{f.symbol:.4f}"),
            ("× margin util", f"{f.margin:.4f}"),
            ("× divergence", f"{f.divergence:.4f}"),
            ("× funding", f"{f.funding:.4f}"),
            ("× safety", f"{f.safety:.4f}"),
            (
                "= raw",
                f"{d.ilf.raw:.4f}x"
                + (
                    f" (formula {d.ilf.unclamped:.4f}x, clamped)"
                    if d.ilf.raw != d.ilf.unclamped
                    else ""
                ),
            ),
            ("whole", f"{d.ilf.leverage}x"),
        ],
    )
    check = g.check
    guard_rows = [
        ("action", f"{g.action}  {g.requested}x → bracket {g.after_bracket}x → {g.leverage}x"),
        ("reason", g.reason),
    ]
    if check is not None:
        guard_rows += [
            ("liquidation price", f"{check.liquidation_price:,.4f}"),
            (
                "liq distance",
                f"{check.liquidation_distance:.4%}  (mmr {check.mmr:g}, cum {check.cum:g})",
            ),
            ("sl limit", f"{check.sl_limit:.4%}  (0.8 × distance)"),
        ]
    lines += _rows("Liquidation guard", guard_rows)
    if d.levels is not None and d.prices is not None:
        lv, px = d.levels, d.prices
        lines += _rows(
            f"Levels at {d.leverage}x (LSF {lv.lsf:.6f}; distance · ROE · price)",
            [
                (name, f"{dist:.5%}  roe {dist * lv.leverage:+.2%}  @ {price:,.4f}")
                for name, dist, price in (
                    ("tp1", lv.tp1, px.tp1),
                    ("tp2", lv.tp2, px.tp2),
                    ("tp3", lv.tp3, px.tp3),
                    ("sl", -lv.sl, px.sl),
                )
            ]
            + [
                ("harvest", " / ".join(f"{h:.0%}" for h in lv.harvest)),
                ("floors/clamps", ", ".join(lv.bits) or "none"),
            ],
        )
    if d.sizing is not None:
        s = d.sizing
        lines += _rows(
            "Sizing",
            [
                ("multiplier", f"{s.multiplier:.4f} ({d.multiplier_source})"),
                ("margin asked", f"{s.margin_requested:,.2f} USDT"),
                *((f"cap {k}", f"{v:,.2f} USDT margin") for k, v in s.caps.items()),
                ("caps bound", ", ".join(s.caps_bound) or "none"),
                ("margin", f"{s.margin:,.2f} USDT"),
                ("notional", f"{s.notional:,.2f} USDT"),
                ("qty", f"{s.qty:g}"),
                ("loss at stop", f"{s.risk_at_stop:,.2f} USDT"),
            ],
        )
    verdict = "ACCEPTED" if d.accepted else f"REFUSED: {d.refused}"
    return "\n".join([*lines, verdict])
