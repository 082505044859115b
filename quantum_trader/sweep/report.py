"""A sweep's results: the table (CSV and parquet, one row per trial and window), the best trial,
the walk-forward folds, the best settings as TOML, and a plot (a heatmap over two swept
parameters, else parallel coordinates)."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from quantum_trader.sweep.runner import direction, objective


def by_trial(rows: list[dict[str, Any]]) -> dict[int, list[dict[str, Any]]]:
    out: dict[int, list[dict[str, Any]]] = {}
    for r in rows:
        out.setdefault(int(r["trial"]), []).append(r)
    return out


def best_trial(rows: list[dict[str, Any]], metric: str) -> tuple[int, float] | None:
    """The trial with the best mean ``metric`` over its windows (failed ones excluded; ties go
    to the earlier trial)."""
    sign = -1.0 if direction(metric) == "minimize" else 1.0
    scored = [(t, objective(rs, metric)) for t, rs in by_trial(rows).items()]
    scored = [(t, s) for t, s in scored if not math.isnan(s)]
    if not scored:
        return None
    t, s = max(scored, key=lambda ts: (sign * ts[1], -ts[0]))
    return t, s


def walk_forward_folds(
    rows: list[dict[str, Any]], metric: str, keys: list[str]
) -> list[dict[str, Any]]:
    """For each pair of consecutive windows: the trial best on the first (in sample) and what it
    made on the second (out of sample), beside the median trial's out-of-sample result."""
    sign = -1.0 if direction(metric) == "minimize" else 1.0
    windows = sorted({int(r["window"]) for r in rows})
    at = {(int(r["trial"]), int(r["window"])): r for r in rows if r["status"] == "ok"}
    folds = []
    for w_in, w_out in zip(windows, windows[1:], strict=False):
        inside = [(t, float(r[metric])) for (t, w), r in at.items() if w == w_in]
        inside = [(t, v) for t, v in inside if not math.isnan(v) and (t, w_out) in at]
        if not inside:
            continue
        chosen, score = max(inside, key=lambda tv: (sign * tv[1], -tv[0]))
        after = sorted(float(at[(t, w_out)][metric]) for t, _ in inside)
        folds.append({"fold": w_in, "trial": chosen, **{k: at[(chosen, w_in)][k] for k in keys},
                      f"in_sample_{metric}": score,
                      f"out_of_sample_{metric}": float(at[(chosen, w_out)][metric]),
                      f"median_trial_out_of_sample_{metric}": after[len(after) // 2]})  # fmt: skip
    return folds


def _toml_value(value: Any) -> str:
    return "true" if value is True else "false" if value is False else json.dumps(value)


def best_toml(base_file: dict[str, Any], overrides: dict[str, Any], note: str) -> str:
    """The base config file's tables with the best trial's values set in them."""
    merged = {section: dict(values) for section, values in base_file.items()}
    for dotted, value in overrides.items():
        section, key = dotted.split(".")
        merged.setdefault(section, {})[key] = value
    lines = [f"# {note}"]
    for section, values in merged.items():
        lines.append(f"\n[{section}]")
        lines += [f"{k} = {_toml_value(v)}" for k, v in values.items()]
    return "\n".join(lines) + "\n"


def write_table(rows: list[dict[str, Any]], out: Path) -> None:
    import pyarrow as pa
    import pyarrow.csv as pcsv
    import pyarrow.parquet as pq

    names = list(dict.fromkeys(k for r in rows for k in r))
    table = pa.table({k: column([r.get(k) for r in rows]) for k in names})
    pcsv.write_csv(table, out / "results.csv")
    pq.write_table(table, out / "results.parquet")


def column(values: list[Any]) -> Any:
    import pyarrow as pa

    try:
        return pa.array(values)
    except (pa.ArrowInvalid, pa.ArrowTypeError):  # a parameter of mixed kinds: as text
        return pa.array([None if v is None else str(v) for v in values])


def write_plot(
    rows: list[dict[str, Any]], keys: list[str], metric: str, out: Path, title: str
) -> Path:
    import plotly.graph_objects as go

    trials = by_trial(rows)
    scores = {t: objective(rs, metric) for t, rs in trials.items()}
    first = {t: rs[0] for t, rs in trials.items()}
    keys = [k for k in keys if len({str(r[k]) for r in first.values()}) > 1] or keys
    if len(keys) == 2:
        xs = sorted({first[t][keys[0]] for t in trials}, key=_order)
        ys = sorted({first[t][keys[1]] for t in trials}, key=_order)
        z = [[math.nan] * len(xs) for _ in ys]
        for t, r in first.items():
            z[ys.index(r[keys[1]])][xs.index(r[keys[0]])] = scores[t]
        fig = go.Figure(go.Heatmap(x=[str(x) for x in xs], y=[str(y) for y in ys], z=z,
                                   colorbar={"title": metric}))  # fmt: skip
        fig.update_layout(xaxis_title=keys[0], yaxis_title=keys[1])
    else:
        dims = []
        for k in keys:
            values = [first[t][k] for t in trials]
            if all(isinstance(v, int | float) and not isinstance(v, bool) for v in values):
                dims.append({"label": k, "values": values})
            else:
                names = sorted({str(v) for v in values})
                dims.append({"label": k, "values": [names.index(str(v)) for v in values],
                             "tickvals": list(range(len(names))), "ticktext": names})  # fmt: skip
        dims.append({"label": metric, "values": [scores[t] for t in trials]})
        fig = go.Figure(go.Parcoords(line={"color": [scores[t] for t in trials],
                                           "colorscale": "Viridis"}, dimensions=dims))  # fmt: skip
    fig.update_layout(title=title)
    path = out / "sweep.html"
    fig.write_html(path, include_plotlyjs=True, full_html=True)
    return path


def _order(value: Any) -> tuple[int, Any]:
    return (0, value) if isinstance(value, int | float) else (1, str(value))
