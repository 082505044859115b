"""``qtrader``: parses the command line, builds the settings and hands off.

Exit codes: 0 done, 2 bad usage or input, 78 invalid configuration (systemd does not restart on it).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from dataclasses import replace

from loguru import logger

from quantum_trader import __version__
from quantum_trader.backtest.cli import add_backtest_parser, cmd_backtest
from quantum_trader.backtest.evaluate import add_evaluate_parser, cmd_evaluate
from quantum_trader.commands import add_run_parser, cmd_positions, cmd_run, cmd_status
from quantum_trader.core.checks import in_range
from quantum_trader.core.decision import DecisionInputs, decide
from quantum_trader.core.edge import parse_side
from quantum_trader.core.errors import CoreError, InvalidInput
from quantum_trader.core.liquidation import BracketTable
from quantum_trader.download_cli import add_download_parser, cmd_download
from quantum_trader.explain import decision_dict, decision_table
from quantum_trader.flatten import add_flatten_parser, cmd_flatten
from quantum_trader.logging import register_secret, setup_logging
from quantum_trader.params import decision_params
from quantum_trader.risk_commands import add_paper_parser, add_risk_parser, cmd_paper, cmd_risk
from quantum_trader.rl_commands import add_rl_parser, cmd_rl
from quantum_trader.settings import (
    EX_CONFIG,
    ConfigError,
    Settings,
    load_settings,
)
from quantum_trader.sweep.cli import add_sweep_parser, cmd_sweep

EX_USAGE = 2


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", metavar="FILE", help="TOML config (default: embedded)")
    parser.add_argument("--log-json", action="store_true", help="one JSON object per log line")
    parser.add_argument(
        "--log-level",
        choices=["TRACE", "DEBUG", "INFO", "SUCCESS", "WARNING", "ERROR"],
        help="override logging.level",
    )


def _explain_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "explain",
        help="explain a past trade (TRADE_ID or --last) or one entry decision from inputs",
    )
    _common(p)
    add = p.add_argument
    add("trade", nargs="?", metavar="TRADE_ID", help="a trade (intent) id from the journal")
    add("--last", action="store_true", help="the newest traded decision in the journal")
    add(
        "--shadow",
        action="store_true",
        help="with --last: the newest decision the edge gate only followed as a shadow trade",
    )
    add("--confidence", type=float, help="calibrated signal confidence 0..1 (what-if mode)")
    add("--volatility", type=float, default=1.0, help="normalised volatility (1 = normal)")
    add("--pnl-trend", type=float, default=0.0, help="recent PnL trend -1..1")
    add("--symbol-risk", type=float, default=1.0, help="symbol risk 0.5..1.5")
    add("--margin-util", type=float, default=0.0, help="used margin / equity 0..1")
    add("--divergence", type=float, default=0.0, help="exchange divergence (fraction)")
    add("--funding", type=float, default=0.0, help="funding rate per interval (fraction)")
    add("--side", default="LONG", help="LONG/SHORT (BUY/SELL accepted)")
    add("--entry-price", type=float, default=50_000.0, help="entry price in USDT")
    add("--equity", type=float, default=10_000.0, help="account equity in USDT")
    add("--atr-pct", type=float, default=None, help="ATR / close (for levels.atr_scaled)")
    add("--multiplier", type=float, default=None, help="RL sizer multiplier (default: fallback)")
    add("--bracket", metavar="MAXLEV:MMR[:CUM]", help="one exchange bracket for every notional")
    add("--json", action="store_true", help="print JSON instead of a table")


ABOUT = """\
qtrader trades USDT-margined perpetual futures (Binance USDⓈ-M through ccxt): signals → trade
filter → ILFv2 leverage → TP/SL with a liquidation guard → RL sizer → execution → exits. The
default is the in-process paper exchange; --testnet is Binance's demo, --live real money (with an
explicit opt-in). Backtests drive recorded candles through the very same decisions."""

EXAMPLES = """\
the usual path:
  qtrader backtest --data BTCUSDT-1m-2023-03.csv --timeframe 15m   decide as live does
  qtrader evaluate --data BTCUSDT-1m-2023-03.csv --windows 4       net edge, walk-forward
  qtrader run --paper --duration 90                                the daemon on paper
  qtrader run --testnet                                            Binance demo (keys)
  qtrader status | qtrader positions | qtrader explain --last      while it runs
  qtrader flatten                                                  everything out, now

data:
  qtrader download --symbols BTCUSDT --timeframe 1m --from 2024-01-01
  qtrader backtest --datadir user_data/data --timeframe 15m

shell completion:
  qtrader --print-completion bash > ~/.local/share/bash-completion/completions/qtrader
exit codes: 0 done, 1 not done (see the message), 2 bad usage or input, 78 invalid configuration
(systemd does not restart on it). `qtrader COMMAND --help` for each command."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="qtrader",
        description=ABOUT,
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"qtrader {__version__}")
    import shtab

    shtab.add_argument_to(parser, ["--print-completion"], help="print a shell completion script")
    sub = parser.add_subparsers(dest="command", required=True)
    _explain_parser(sub)
    add_run_parser(sub, _common)
    add_rl_parser(sub, _common)
    add_risk_parser(sub, _common)
    add_paper_parser(sub, _common)
    add_backtest_parser(sub, _common)
    add_sweep_parser(sub, _common)
    add_evaluate_parser(sub, _common)
    add_download_parser(sub, _common)
    add_flatten_parser(sub, _common)
    check = sub.add_parser("check-config", help="print the effective configuration, secrets masked")
    _common(check)
    check.add_argument("--json", action="store_true", help="print JSON instead of TOML")
    for name, command in sub.choices.items():  # every command's --help: what it does, in full
        if command.description is None:
            command.description = next(
                (a.help for a in sub._choices_actions if a.dest == name),
                None,  # noqa: SLF001
            )
    return parser


def _explain_trade(args: argparse.Namespace) -> int:
    from quantum_trader.explain_trade import find, journals, story
    from quantum_trader.runtime.paths import state_dir

    state = state_dir()
    found = find(state, None if args.last else args.trade, args.shadow)
    if found is None:
        where = ", ".join(p.name for p in journals(state)) or f"no journal in {state}"
        print(f"qtrader explain: no trade {args.trade or '(newest)'} in {where}")
        return 1
    _, trade, record = found
    print(json.dumps({"trade": trade, **record}, indent=2) if args.json else story(*found))
    return 0


def _parse_bracket(text: str) -> BracketTable:
    parts = text.split(":")
    if len(parts) not in (2, 3):
        raise InvalidInput("--bracket", f"expected MAXLEV:MMR[:CUM], got {text!r}")
    try:
        values = [float(part) for part in parts]
    except ValueError:
        raise InvalidInput("--bracket", f"expected numbers, got {text!r}") from None
    return BracketTable.single(*values)


#: a what-if's inputs must lie in ILFv2's domains (SPEC §5): the daemon clamps what its data
#: says, but a value typed outside them is a mistake, refused with its name
WHAT_IF = {
    "confidence": (0.0, 1.0),
    "volatility": (0.0, 3.0),
    "pnl_trend": (-1.0, 1.0),
    "symbol_risk": (0.5, 1.5),
    "margin_util": (0.0, 1.0),
    "divergence": (0.0, 1.0),
    "funding": (-0.05, 0.05),
}


def _what_if_ranges(args: argparse.Namespace) -> None:
    for name, (low, high) in WHAT_IF.items():
        in_range(f"--{name.replace('_', '-')}", getattr(args, name), low, high)


def cmd_explain(args: argparse.Namespace, settings: Settings) -> int:
    if args.trade or args.last:
        return _explain_trade(args)
    if args.confidence is None:
        print("qtrader explain: give TRADE_ID, --last, or --confidence (a what-if decision)")
        return 2
    _what_if_ranges(args)
    params = decision_params(settings)
    if args.bracket:
        params = replace(params, brackets=_parse_bracket(args.bracket))
    inputs = DecisionInputs(
        side=parse_side(args.side),
        entry_price=args.entry_price,
        equity=args.equity,
        confidence=args.confidence,
        volatility=args.volatility,
        pnl_trend=args.pnl_trend,
        symbol_risk=args.symbol_risk,
        margin_util=args.margin_util,
        used_margin=max(0.0, args.margin_util) * args.equity,
        exchange_divergence=args.divergence,
        funding_rate=args.funding,
        atr_pct=args.atr_pct,
        multiplier=args.multiplier,
    )
    decision = decide(inputs, params)
    logger.bind(component="explain").info(
        "{} | guard {} | {}",
        decision.ilf.reasoning,
        decision.guard.reason,
        "accepted" if decision.accepted else f"refused: {decision.refused}",
    )
    if args.json:
        print(json.dumps(decision_dict(decision), indent=2))
    else:
        print(decision_table(decision))
    return 0


def _toml_value(value: object) -> str:
    return json.dumps(value)


def cmd_check_config(args: argparse.Namespace, settings: Settings) -> int:
    data = settings.model_dump(mode="json")
    if args.json:
        print(json.dumps(data, indent=2))
        return 0
    for section, values in data.items():
        print(f"[{section}]")
        for key, value in values.items():
            if value is None:
                print(f"# {key} = (unset)")
            else:
                print(f"{key} = {_toml_value(value)}")
        print()
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = load_settings(args.config)
    except ConfigError as exc:
        print(f"qtrader: {exc}", file=sys.stderr)
        return EX_CONFIG
    for secret in settings.secret_values():
        register_secret(secret)
    quiet = args.command in (
        "backtest",
        "evaluate",
        "rl",
        "download",
        "sweep",
    )  # many decisions: warnings only
    level = args.log_level or ("WARNING" if quiet else settings.logging.level)
    setup_logging(level, args.log_json or settings.logging.json_lines)
    handlers = {
        "explain": cmd_explain,
        "check-config": cmd_check_config,
        "run": cmd_run,
        "status": cmd_status,
        "positions": cmd_positions,
        "rl": cmd_rl,
        "risk": cmd_risk,
        "paper": cmd_paper,
        "backtest": cmd_backtest,
        "sweep": cmd_sweep,
        "evaluate": cmd_evaluate,
        "download": cmd_download,
        "flatten": cmd_flatten,
    }
    try:
        return handlers[args.command](args, settings)
    except (CoreError, ValueError) as exc:
        print(f"qtrader {args.command}: {exc}", file=sys.stderr)
        return EX_USAGE
    except BrokenPipeError:  # `qtrader … | head`: the reader left; not an error of ours
        sys.stderr.close()
        return 0
