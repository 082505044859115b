"""sd_notify without dependencies: READY / WATCHDOG / STOPPING / STATUS over ``$NOTIFY_SOCKET``."""

from __future__ import annotations

import os
import socket

from loguru import logger


class Notifier:
    def __init__(self) -> None:
        self.address = os.environ.get("NOTIFY_SOCKET", "")
        usec = os.environ.get("WATCHDOG_USEC", "")
        self.watchdog_interval = int(usec) / 2e6 if usec.isdigit() else 0.0
        self.sent: list[str] = []

    @property
    def enabled(self) -> bool:
        return bool(self.address)

    def notify(self, message: str) -> None:
        if not self.address:
            return
        address = "\0" + self.address[1:] if self.address.startswith("@") else self.address
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
                sock.connect(address)
                sock.sendall(message.encode())
            self.sent.append(message)
        except OSError as exc:
            logger.bind(component="systemd").warning("sd_notify {!r} failed: {}", message, exc)

    def ready(self, status: str = "") -> None:
        self.notify("READY=1" + (f"\nSTATUS={status}" if status else ""))

    def watchdog(self) -> None:
        self.notify("WATCHDOG=1")

    def stopping(self) -> None:
        self.notify("STOPPING=1")
