"""``GET /health`` (JSON) and ``GET /metrics`` (Prometheus text) on aiohttp, loopback by default;
``POST /<action>`` (``/flatten``) for the operator, with ``Authorization: Bearer <token>`` (the
token the daemon writes to its state directory: only its user can read it)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web
from loguru import logger

Snapshot = Callable[[], Awaitable[dict[str, Any]]]
Action = Callable[[], Awaitable[dict[str, Any]]]


class ApiServer:
    def __init__(
        self,
        snapshot: Snapshot,
        host: str,
        port: int,
        metrics: Callable[[dict[str, Any]], str],
        actions: dict[str, Action] | None = None,
        token: str | None = None,
        token_for_all: bool = False,
        idle_timeout: float = 5.0,
    ) -> None:
        """``token_for_all`` (a bind beyond loopback): every request needs the token, not only
        the actions. ``idle_timeout``: a connection that has not completed a request in that
        long — silent, or sending its headers a byte at a time — is closed."""
        self.snapshot, self.host, self.port, self.metrics = snapshot, host, port, metrics
        self.actions, self.token = actions or {}, token
        self.token_for_all, self.idle_timeout = token_for_all, idle_timeout
        self._runner: web.AppRunner | None = None
        self.bound_port = 0

    async def _health(self, _: web.Request) -> web.Response:
        snap = await self.snapshot()
        code = 200 if snap["health"]["status"] != "OFFLINE" else 503
        return web.json_response(snap, status=code)

    async def _metrics(self, _: web.Request) -> web.Response:
        return web.Response(
            text=self.metrics(await self.snapshot()), content_type="text/plain", charset="utf-8"
        )

    async def _action(self, request: web.Request) -> web.Response:
        from quantum_trader.flatten import authorised

        action = self.actions.get(request.match_info["name"])
        if action is None:
            return web.json_response({"error": "no such action"}, status=404)
        if self.token is None or not authorised(request.headers.get("Authorization"), self.token):
            return web.json_response({"error": "a valid token is needed"}, status=401)
        return web.json_response(await action())

    @web.middleware
    async def _auth(self, request: web.Request, handler: Any) -> web.StreamResponse:
        from quantum_trader.flatten import authorised

        if self.token_for_all and (
            self.token is None or not authorised(request.headers.get("Authorization"), self.token)
        ):
            return web.json_response({"error": "a valid token is needed"}, status=401)
        response: web.StreamResponse = await handler(request)
        return response

    async def start(self) -> None:
        app = web.Application(middlewares=[self._auth])
        app.router.add_get("/health", self._health)
        app.router.add_get("/metrics", self._metrics)
        app.router.add_post("/{name}", self._action)
        self._runner = web.AppRunner(
            app,
            access_log=None,
            keepalive_timeout=self.idle_timeout,  # from the connection's start, aiohttp ≥ 3.10
            handler_cancellation=True,  # a client gone: its handler stops
        )
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        server = site._server  # noqa: SLF001 - aiohttp exposes the bound port only here
        sockets = getattr(server, "sockets", None) or []
        self.bound_port = sockets[0].getsockname()[1] if sockets else self.port
        logger.bind(component="api").info("listening on http://{}:{}", self.host, self.bound_port)

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
