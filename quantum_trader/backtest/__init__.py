"""Backtests: recorded candles through the daemon's own pipeline, metrics and reports."""
