"""Parameter sweeps and walk-forward runs of the backtester, on Ray."""
