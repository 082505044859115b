"""The closed-trades log: one JSON line per ``position.closed``, appended as it happens, in the
state directory. (The full SQLite journal arrives with live execution.)"""

from __future__ import annotations

import json
from pathlib import Path

from quantum_trader.bus.messages import PositionClosed, to_jsonable

FILE = "closed_trades.jsonl"


class TradeLog:
    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)

    async def on_closed(self, closed: PositionClosed) -> None:
        with self.path.open("a", encoding="utf-8") as handle:
            handle.write(json.dumps(to_jsonable(closed)) + "\n")


def read_trades(path: Path) -> list[dict[str, object]]:
    with path.open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]
