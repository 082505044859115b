"""Logging, set up in one place: loguru to stderr, one line per event, stdlib routed through it.

Under systemd (``JOURNAL_STREAM`` set) the timestamp is left to journald and each line starts with
its syslog priority (``<4>`` …), which journald reads. ``json_lines`` writes one flat JSON object
per line instead (time, level, priority, component, symbol, message, the bound fields, the
exception) — under journald after the same priority prefix. Registered secrets are masked in
every message, whatever logs them, and the sink masks the finished line once more: no format, no
level, no bound field and no exception text can carry one out.
"""

from __future__ import annotations

import inspect
import json
import logging
import sys
import traceback
from typing import TYPE_CHECKING, Any

from loguru import logger

if TYPE_CHECKING:
    from loguru import Record

_SECRETS: set[str] = set()
MASK = "***"
#: syslog priorities journald reads from a ``<N>`` line prefix (sd-daemon(3)): ``journalctl -p
#: warning -u qtrader`` then shows warnings and worse
PRIORITY = {
    "TRACE": 7,
    "DEBUG": 7,
    "INFO": 6,
    "SUCCESS": 5,
    "WARNING": 4,
    "ERROR": 3,
    "CRITICAL": 2,
}


def _journald_format(record: Record) -> str:
    prefix = f"\\<{PRIORITY.get(record['level'].name, 6)}>"
    symbol = " {extra[symbol]}" if "symbol" in record["extra"] else ""
    return prefix + "{level: <7} {extra[component]: <10}" + symbol + " | {message}\n{exception}"


def _json_line(record: Record, journald: bool) -> str:
    """One flat JSON object (loguru's own ``serialize`` dumps the raw record: its ``template``
    and ``extra`` kept secrets the message had masked)."""
    prio = PRIORITY.get(record["level"].name, 6)
    extra = {k: v for k, v in record["extra"].items() if not k.startswith("_")}
    obj: dict[str, Any] = {
        "time": record["time"].isoformat(timespec="milliseconds"),
        "level": record["level"].name,
        "priority": prio,
        "component": extra.pop("component", "qtrader"),
        **({"symbol": extra.pop("symbol")} if "symbol" in extra else {}),
        "message": record["message"],
        **extra,
    }
    exc = record["exception"]
    if exc is not None and exc.type is not None:
        obj["exception"] = f"{exc.type.__name__}: {exc.value}"
        obj["traceback"] = "".join(traceback.format_exception(exc.type, exc.value, exc.traceback))
    line = json.dumps(obj, default=str, ensure_ascii=False)
    record["extra"]["_line"] = (f"<{prio}>" if journald else "") + line
    return "{extra[_line]}\n"


_TIMED = (
    "<green>{time:YYYY-MM-DD HH:mm:ss.SSS}</green> <level>{level: <7}</level> "
    "<cyan>{extra[component]: <10}</cyan> | <level>{message}</level>"
)


def register_secret(value: str | None) -> None:
    """Mask ``value`` wherever it would appear in a log line (values under 4 chars are ignored)."""
    if value and len(value) >= 4:
        _SECRETS.add(value)


def redact(text: str) -> str:
    for secret in _SECRETS:
        if secret in text:
            text = text.replace(secret, MASK)
    return text


def _write(message: str) -> None:
    """The one sink: stderr, the finished line masked once more."""
    sys.stderr.write(redact(message) if _SECRETS else message)


def _patch(record: Record) -> None:
    record["extra"].setdefault("component", (record["name"] or "qtrader").rsplit(".", 1)[-1])
    if _SECRETS:
        record["message"] = redact(record["message"])
        if record["exception"] is not None:
            exc = record["exception"]
            if exc.value is not None:
                exc.value.args = tuple(redact(str(a)) for a in exc.value.args)


class InterceptHandler(logging.Handler):
    """Route stdlib logging (ccxt, aiohttp, asyncio) into loguru with the caller's location."""

    def emit(self, record: logging.LogRecord) -> None:
        if record.name == "aiohttp.server" and record.exc_info and record.exc_info[1]:
            # a malformed request (a scanner, TLS on the plain port): answered 400 by aiohttp;
            # one line, never a traceback
            exc = record.exc_info[1]
            logger.bind(component="api").warning(
                "malformed request refused: {}: {}", type(exc).__name__, str(exc)[:200]
            )
            return
        try:
            level: str | int = logger.level(record.levelname).name
        except ValueError:
            level = record.levelno
        frame, depth = inspect.currentframe(), 0
        while frame is not None and (depth == 0 or frame.f_code.co_filename == logging.__file__):
            frame, depth = frame.f_back, depth + 1
        logger.bind(component=record.name.split(".")[0]).opt(
            depth=depth, exception=record.exc_info
        ).log(level, record.getMessage())


def setup_logging(
    level: str = "INFO", json_lines: bool = False, journald: bool | None = None
) -> None:
    """Configure the one loguru sink on stderr and intercept the standard library."""
    import os

    under_journald = bool(os.environ.get("JOURNAL_STREAM")) if journald is None else journald
    logger.remove()
    logger.configure(patcher=_patch, extra={"component": "qtrader"})
    if json_lines:
        fmt: Any = lambda r: _json_line(r, under_journald)  # noqa: E731
    else:
        fmt = _journald_format if under_journald else _TIMED
    logger.add(
        _write,
        level=level,
        format=fmt,
        colorize=False if (json_lines or under_journald) else sys.stderr.isatty(),
        backtrace=False,
        diagnose=False,  # never dump local variables (they may hold secrets)
    )
    logging.basicConfig(handlers=[InterceptHandler()], level=0, force=True)
    for name in ("ccxt", "aiohttp", "asyncio", "urllib3"):
        logging.getLogger(name).handlers = [InterceptHandler()]
        logging.getLogger(name).propagate = False
