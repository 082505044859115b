"""The daemon: startup → main loop → shutdown (uvicorn's shape).

SIGTERM/SIGINT set the stop event; a second one forces exit. Shutdown stops new entries first,
lets in-flight orders finish (bus drain, bounded by ``shutdown_timeout_seconds``), leaves every
exchange stop in place, prints a one-screen summary and closes resources in reverse order.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import time
from collections.abc import Callable
from contextlib import AsyncExitStack
from typing import Any

from loguru import logger

from quantum_trader.api.server import ApiServer
from quantum_trader.bus.messages import HealthAlert, Topic
from quantum_trader.bus.redis_mirror import RedisMirror
from quantum_trader.exchange.base import Exchange, ExchangeError
from quantum_trader.execution.reconcile import ReconcileError, Reconciler
from quantum_trader.feeds.base import Feed
from quantum_trader.flatten import flatten_daemon, write_token
from quantum_trader.monitoring.account import AccountView, keep_current
from quantum_trader.monitoring.stopwatch import StopWatch
from quantum_trader.paper_resume import restore_paper
from quantum_trader.pipeline import Pipeline, build_pipeline, live_streams
from quantum_trader.runtime.loops import every
from quantum_trader.runtime.paths import state_dir
from quantum_trader.runtime.supervisor import Supervisor
from quantum_trader.runtime.systemd import Notifier
from quantum_trader.settings import EX_CONFIG, Settings
from quantum_trader.signals.reference import LiveReference
from quantum_trader.sizing.factory import make_sizer
from quantum_trader.sizing.sizer import Sizer
from quantum_trader.status import snapshot, summary
from quantum_trader.store.journal import Journal
from quantum_trader.store.trades import FILE as TRADES_FILE
from quantum_trader.store.trades import TradeLog

log = logger.bind(component="daemon")
EX_FORCED = 130


class Daemon:
    def __init__(
        self,
        settings: Settings,
        feed: Feed,
        mode: str = "paper",
        duration_s: float | None = None,
        exchange: Exchange | None = None,
        sizer: Sizer | None = None,
    ) -> None:
        self.settings, self.mode, self.duration_s = settings, mode, duration_s
        self.journal = (
            Journal(state_dir() / f"journal-{mode}.sqlite3") if settings.runtime.journal else None
        )
        self.p: Pipeline = build_pipeline(
            settings,
            feed,
            exchange,
            sizer or make_sizer(settings, state_dir()),
            self.journal,
        )
        paper = self.p.paper
        if paper is not None and self.journal is not None:
            restore_paper(paper, self.journal, feed)
        self.p.risk.restore()
        self.trade_log = TradeLog(state_dir() / TRADES_FILE)
        self.p.bus.subscribe("trade-log", Topic.POSITION_CLOSED, self.trade_log.on_closed)
        self.supervisor = Supervisor(settings.runtime.max_task_restarts)
        self.notifier = Notifier()
        self.stop_event = asyncio.Event()
        self.started = time.monotonic()
        self.signals_seen = 0
        url = settings.redis.url
        self.mirror = (
            RedisMirror(
                url.get_secret_value(),
                settings.redis.stream_maxlen,
                settings.redis.buffer,
                settings.redis.position_ttl_seconds,
            )
            if url is not None
            else None
        )
        self.api = (
            ApiServer(
                self.status,
                settings.api.host,
                settings.api.port,
                self.p.metrics.render,
                {"flatten": self.flatten},
                write_token(state_dir()),
                token_for_all=settings.api.remote,
            )  # fmt: skip
            if settings.api.enabled
            else None
        )
        self.streams = live_streams(self.p, exchange)
        ref = self.p.signals.reference  # a live venue's tickers: polled by its own task
        self.reference = ref if isinstance(ref, LiveReference) else None
        self.stop_reason = ""
        self.reconciled = "not yet"
        self.account = AccountView()  # what /health and the summary read: never the exchange

    async def flatten(self) -> dict[str, Any]:
        return await flatten_daemon(self.p, self.journal)

    async def status(self) -> dict[str, Any]:
        status = await snapshot(
            self.p, self.mode, self.started, self.account, self.mirror, self.supervisor.restarts
        )
        if self.streams is not None:
            status["streams"] = self.streams.snapshot()
        if self.journal is not None:
            status["journal"] = {
                "path": self.journal.path,
                "rows": self.journal.counts(),
                "reconciled": self.reconciled,
            }
        return status

    def _on_signal(self, signum: int) -> None:
        self.signals_seen += 1
        name = signal.Signals(signum).name
        if self.signals_seen == 1:
            log.warning("{} received: stopping (send again to force)", name)
            self.stop_reason = name
            self.stop_event.set()
            return
        log.error("{} received again: forced exit", name)
        os._exit(EX_FORCED)

    async def _health_loop(self) -> None:
        """A line (and an equity row) every interval, from state: an outage cannot crash it."""
        interval = self.settings.runtime.health_interval_seconds
        while True:
            started = time.monotonic()
            for module, status, score, error in self.p.health.changes():
                level = "INFO" if status == "HEALTHY" else "WARNING"
                log.log(level, "health.alert {} → {} ({:.0f}) {}", module, status, score, error)
                now_ms = int(time.time() * 1000)
                alert = HealthAlert(module, status, round(score, 1), error, now_ms)
                await self.p.bus.publish(Topic.HEALTH_ALERT, alert)
            snap = self.p.health.snapshot()
            balance, book = self.account.balance, self.p.book
            if self.journal is not None and balance is not None:
                now = int(time.time() * 1000)
                self.journal.record_equity(now, balance.wallet, balance.equity, balance.used_margin)
            log.info(
                "health {} ({:.0f}) | equity {:,.2f} (read {}s ago{}) | open {} | closed {} | "
                "pnl {:+,.2f}",
                snap["status"],
                snap["overall"],
                book.equity,
                self.account.age_s(),
                f", last read failed: {self.account.error}" if self.account.error else "",
                len(book.positions),
                book.closed_count,
                book.realised,
            )
            await asyncio.sleep(max(0.0, interval - (time.monotonic() - started)))

    async def _fill_loop(self) -> None:
        """Live exchanges: resting orders (stop, TP legs) are polled for fills."""

        async def poll() -> None:
            for fill in await self.p.exchange.take_fills():
                await self.p.bus.publish(Topic.ORDER_FILLED, fill)

        interval = self.settings.exchange.fill_poll_seconds
        wake = getattr(self.p.exchange, "wake", None)  # the streams point at an order: poll now
        await every("fill poll", interval, poll, self.p.health, wake=wake)

    async def _reconcile(self) -> None:
        """Before the first candle: the account checked, the journal reconciled with the exchange,
        fills missed while away booked. Retried with backoff; then the daemon refuses to trade."""
        await self.p.exchange.start()
        if self.journal is None:
            return
        last: Exception | None = None
        for attempt in range(4):
            try:
                rec = Reconciler(
                    self.p.exchange,
                    self.journal,
                    self.p.book,
                    self.p.execution,
                    self.p.exits,
                    self.settings.exchange.unknown_positions,
                    tuple(self.p.feed.feed.symbols),
                    self._market_now(),
                )
                await rec.run()
                for fill in await self.p.exchange.take_fills():
                    await self.p.exits.on_fill(fill)
                await rec.settle()
                self.reconciled = rec.report.summary()
                return
            except (ReconcileError, ExchangeError) as exc:
                last = exc
                log.error("reconciliation attempt {} failed: {}", attempt + 1, exc)
                await asyncio.sleep(min(8.0, 0.5 * 2**attempt))
        raise ReconcileError(f"refusing to trade: {last}")

    def _market_now(self) -> Callable[[], int] | None:
        """Paper on simulated time: the market's clock is the last candle the account saw."""
        paper = self.p.paper
        if paper is None or not self.p.feed.feed.simulated or not paper.engine.now:
            return self.p.wall.now_ms
        return lambda: paper.engine.now

    async def _watchdog(self) -> None:
        while True:
            self.notifier.watchdog()
            await asyncio.sleep(self.notifier.watchdog_interval)

    async def _wait(self) -> str:
        waits: dict[str, asyncio.Task[Any]] = {
            "signal": asyncio.create_task(self.stop_event.wait()),
            "feed finished": asyncio.create_task(self.p.feed.finished.wait()),
            "fatal": asyncio.create_task(self.supervisor.fatal.wait()),
            "fatal exchange error": asyncio.create_task(self.p.fatal.event.wait()),
        }
        if self.duration_s is not None:
            waits["duration"] = asyncio.create_task(asyncio.sleep(self.duration_s))
        done, pending = await asyncio.wait(waits.values(), return_when=asyncio.FIRST_COMPLETED)
        for task in pending:
            task.cancel()
        return next(name for name, task in waits.items() if task in done)

    async def run(self) -> int:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self._on_signal, sig)
        try:
            return await self._run()
        finally:
            for sig in (signal.SIGTERM, signal.SIGINT):
                loop.remove_signal_handler(sig)

    async def _run(self) -> int:
        async with AsyncExitStack() as stack:
            stack.push_async_callback(self.p.feed.feed.close)
            stack.push_async_callback(self.p.exchange.close)
            if self.journal is not None:
                stack.callback(self.journal.close)
            self.p.bus.start()
            stack.push_async_callback(self.p.bus.stop)
            try:
                await self._reconcile()
                await self.account.refresh(self.p.exchange, self.p.book)
                start_equity = self.p.book.equity
            except (ReconcileError, ExchangeError) as exc:
                log.critical("{}: not trading", exc)
                return EX_CONFIG if self.p.fatal.event.is_set() else 1
            stack.push_async_callback(self.supervisor.stop)
            if self.mirror is not None:
                self.p.bus.add_tap(self.mirror.tap)
                self.supervisor.start("redis-mirror", self.mirror.run)
            if self.api is not None:
                try:
                    await self.api.start()
                except OSError as exc:
                    log.critical(
                        "api: cannot listen on {}:{} ({}): set api.port (QT_API__PORT) or stop "
                        "what holds it",
                        self.api.host,
                        self.api.port,
                        exc.strerror or exc,
                    )
                    return EX_CONFIG
                stack.push_async_callback(self.api.stop)
            self.supervisor.start("feed", self.p.feed.run)
            self.supervisor.start("health", self._health_loop)
            self.supervisor.start(
                "account",
                lambda: keep_current(
                    self.account,
                    self.p.exchange,
                    self.p.book,
                    self.p.health,
                    self.settings.runtime.account_refresh_seconds,
                    read_stops=self.p.feed.feed.simulated,  # live: the stop watch reads them
                ),
            )
            if self.p.paper is None:
                self.supervisor.start("fills", self._fill_loop)
            if self.reference is not None:
                self.supervisor.start("reference", self.reference.run)
                stack.push_async_callback(self.reference.close)
            if self.streams is not None:
                self.supervisor.start("stream-prices", self.streams.prices)
                self.supervisor.start("stream-orders", self.streams.orders)
            if not self.p.feed.feed.simulated:
                watch = StopWatch(
                    self.p.exchange,
                    self.p.book,
                    self.p.exits,
                    self.settings.exchange.stop_check_seconds,
                    self.account,
                )
                self.supervisor.start("stopwatch", watch.run)
            if self.notifier.enabled and self.notifier.watchdog_interval:
                self.supervisor.start("watchdog", self._watchdog)
            self.notifier.ready(f"{self.mode} on {self.p.feed.feed.name}")
            log.info(
                "qtrader running: mode {} | feed {} | symbols {} | equity {:,.2f}",
                self.mode,
                self.p.feed.feed.name,
                ",".join(self.p.feed.feed.symbols),
                start_equity,
            )
            reason = await self._wait()
            why = self.stop_reason or reason
            return await self._shutdown(why, start_equity)
        return 0  # pragma: no cover - the exit stack does not swallow

    async def _stop_feed(self) -> None:
        """Let the candle in hand finish (inline handlers may be mid-order), then stop."""
        self.p.feed.request_stop()
        task = self.supervisor.tasks.get("feed")
        if task is None or task.done():
            return
        if not self.p.feed.busy:
            task.cancel()  # waiting for the next candle: nothing is interrupted
        try:
            async with asyncio.timeout(self.settings.runtime.shutdown_timeout_seconds * 0.5):
                await asyncio.gather(task, return_exceptions=True)
        except TimeoutError:
            log.error("the feed did not stop in time; cancelling it")
            task.cancel()

    def _unprotected(self) -> list[str]:
        """Entries still in flight after the drain, and positions without a live stop."""
        stopless = [mp.opened.intent_id for mp in self.p.book.positions.values()
                    if mp.stop_order_id is None]  # fmt: skip
        return sorted({*self.p.execution.entering_ids, *stopless})

    async def _shutdown(self, reason: str, start_equity: float) -> int:
        self.notifier.stopping()
        log.info("shutting down ({}): no new entries; exchange stops stay in place", reason)
        self.p.strategy.accepting = False
        self.p.execution.accepting = False
        await self._stop_feed()
        if self.p.paper is not None:
            self.p.paper.flush()  # the market time of the last candle, for the next start
        try:
            async with asyncio.timeout(self.settings.runtime.shutdown_timeout_seconds * 0.8):
                await self.p.bus.drain()
        except TimeoutError:
            log.error("in-flight work did not finish in time; stopping anyway")
        unprotected = self._unprotected()
        try:
            await self.account.refresh(self.p.exchange, self.p.book)  # the final figures
        except ExchangeError as exc:  # the exchange may be what stopped us
            log.error("final account not read ({}): the summary shows the last view", exc)
        try:
            status = await self.status()
        except ExchangeError as exc:
            log.error("no final status ({})", exc)
        else:
            print(summary(status, reason, start_equity), flush=True)
            try:
                (state_dir() / "last_summary.json").write_text(json.dumps(status, indent=1))
            except OSError as exc:
                log.warning("could not write the summary to the state directory: {}", exc)
        if self.p.fatal.event.is_set():
            log.critical("exiting 78 (not restarted by systemd): {}", self.p.fatal.reason)
            return EX_CONFIG
        if unprotected:
            log.critical(
                "exiting non-zero: {} may hold a position without its exchange stop (an entry "
                "still in flight at shutdown); the next start reconciles and places it",
                ", ".join(unprotected),
            )
            return 1
        fatal = self.supervisor.fatal.is_set()
        if fatal:
            log.critical("exiting non-zero: {}", self.supervisor.fatal_reason)
        return 1 if fatal else 0
