"""Market-data feeds behind one protocol: synthetic, file replay, live (ccxt polling)."""
