"""Exchanges behind one protocol: the in-process paper exchange and ccxt (live/demo)."""
