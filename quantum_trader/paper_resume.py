"""The paper account kept in the daemon's journal: restored at start for the market it belongs
to, saved as it changes."""

from __future__ import annotations

from loguru import logger

from quantum_trader.core.edge import iso_ms
from quantum_trader.exchange.paper import PaperExchange
from quantum_trader.feeds.base import Feed, Resumable
from quantum_trader.settings import ConfigError
from quantum_trader.store.journal import Journal, JournalError

log = logger.bind(component="daemon")


def restore_paper(paper: PaperExchange, journal: Journal, feed: Feed) -> None:
    """The paper account belongs to one market: a restart resumes that market after the last
    candle the account saw (never earlier); another market is refused."""
    identity = feed.identity() if isinstance(feed, Resumable) else None
    saved = journal.load_paper()
    if saved is not None:
        known = saved.get("market")
        if known is not None and identity is not None and known != identity:
            raise ConfigError(
                f"this paper journal ({journal.path}) belongs to another market ({known}), "
                f"not {identity}: run that market again, or `qtrader paper reset` to start over"
            )
        try:
            paper.restore(saved)
        except (ValueError, KeyError, TypeError) as exc:
            raise JournalError(
                f"the paper account in {journal.path} is unusable ({exc}): `qtrader paper "
                "reset` starts over"
            ) from None
        if isinstance(feed, Resumable):
            feed.resume_after(paper.engine.seen)
        log.info(
            "paper exchange restored from the journal: wallet {:,.2f}, {} positions; the "
            "market resumes after {}",
            paper.engine.wallet,
            len(paper.engine.positions),
            iso_ms(paper.engine.now),
        )
    paper.market = identity
    paper.persist = journal.save_paper
