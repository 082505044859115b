"""A user signal model: the EMA 12/26 cross (freqtrade's ``EmaCross1226``), as a qtrader plug-in.

Use it by naming it in the configuration — alone, or beside the built-ins (the consensus and the
calibration work over any set of models):

    [signals]
    models = ["examples/ema_cross.py:EmaCross"]            # or "mypkg.models:EmaCross"
    # models = ["trend", "momentum", "examples/ema_cross.py:EmaCross"]

or ``QT_SIGNALS__MODELS='["examples/ema_cross.py:EmaCross"]' qtrader backtest --data FILE``.

How freqtrade's strategy maps onto qtrader:

- ``populate_indicators`` (ta.EMA 12 and 26) → ``series``: :func:`windowed_ema` over
  ``window`` bars;
- ``populate_entry_trend`` (cross above → enter) → vote +1 on the bar the fast EMA crosses
  above the slow; a cross below votes −1 (a short; ``long_only = True`` makes it 0);
- ``stoploss = -0.02`` / ``minimal_roi`` 3 % → the exit plan: ILFv2's levels under the
  liquidation guard, TP legs, breakeven, trailing (``[levels]``, ``[exits]``);
- ``stake_amount`` → the sizer (``[sizing]``, the RL multiplier);
- the dataframe → ``Bars``: open/high/low/close/volume/atr_pct arrays, oldest first.

The contract (``quantum_trader.core.models``): ``series(bars)`` returns a vote (+1/−1/0, NaN in
warm-up) and a probability for every bar, reading at most the last ``window`` bars for each — so
the backtest (one call over the whole file) and the live daemon (one call per candle on the last
``window`` bars) make the same calls. A talib EMA over the whole dataframe would not: it
remembers every bar since the first. ``windowed_ema`` restarts the EMA at the window's first bar;
with ``window = 8 × slow`` the restart's weight is (25/27)^208 ≈ 1e-7 of the seed.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from quantum_trader.core.models import Bars, windowed_ema

F64 = npt.NDArray[np.float64]


class EmaCross:
    name = "ema_cross"
    fast, slow = 12, 26
    window = 8 * 26 + 1  # the EMAs over 8 × slow bars, and the bar before for the cross
    warmup = window
    long_only = False
    probability = 0.66  # what a cross claims before calibration measures it

    def series(self, bars: Bars) -> tuple[F64, F64]:
        span = self.window - 1
        gap = windowed_ema(bars.close, self.fast, span) - windowed_ema(bars.close, self.slow, span)
        before = np.r_[np.nan, gap[:-1]]
        up = (before <= 0) & (gap > 0)
        down = (before >= 0) & (gap < 0)
        vote = np.where(up, 1.0, np.where(down & (not self.long_only), -1.0, 0.0))
        vote = np.where(np.isnan(gap) | np.isnan(before), np.nan, vote)
        return vote, np.full(bars.close.size, self.probability)


class EmaCrossLong(EmaCross):
    """Long only, as freqtrade's spot strategy."""

    name = "ema_cross_long"
    long_only = True
