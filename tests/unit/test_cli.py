"""`qtrader explain` and `qtrader check-config`: in-process, plus the installed console script."""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from quantum_trader.cli import main

ACCEPTANCE = [
    "explain", "--json", "--confidence", "0.85", "--volatility", "1.2", "--pnl-trend", "0.4",
    "--symbol-risk", "1.0", "--margin-util", "0.3", "--divergence", "0.02", "--funding", "-0.001",
]  # fmt: skip


pytestmark = pytest.mark.usefixtures("clean_qt_env")


def _run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def test_explain_json_acceptance(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(ACCEPTANCE, capsys)
    assert code == 0
    data = json.loads(out)
    assert abs(data["leverage_raw"] - 13.87) <= 0.01
    assert data["leverage"] == 13
    assert data["factors"]["base"] == 68.75
    assert set(data["levels"]) >= {"tp1", "tp2", "tp3", "sl", "lsf", "harvest"}
    assert data["levels"]["harvest"] == [0.4, 0.4, 0.2]
    assert data["guard"]["action"] == "pass"
    assert data["sizing"]["qty"] == 0.043
    assert data["sizing"]["caps_bound"] == []


def test_explain_table_shows_every_stage(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = _run([a for a in ACCEPTANCE if a != "--json"], capsys)
    assert code == 0
    for heading in ("ILFv2 leverage", "Liquidation guard", "Levels at 13x", "Sizing", "ACCEPTED"):
        assert heading in out
    assert "ILFv2 13.87x→13x" in err  # the one decision log line


def test_explain_with_a_bracket_that_forces_lowering(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(
        ["explain", "--json", "--confidence", "1", "--volatility", "0", "--bracket", "125:0.004"],
        capsys,
    )
    data = json.loads(out)
    assert code == 0 and data["leverage_ilf"] == 80
    assert data["guard"]["action"] == "lowered"
    assert data["leverage"] < 80
    assert data["levels"]["sl"] <= data["guard"]["sl_limit"]


def test_explain_refusal_is_explained(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(
        ["explain", "--confidence", "0.9", "--side", "SELL", "--bracket", "125:0.98"], capsys
    )
    assert code == 0
    assert "REFUSED: refused: even at 1x" in out


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["--confidence", "nan"], "confidence: must be finite"),
        (["--confidence", "0.8", "--entry-price", "-5"], "entry_price: must be > 0"),
        (["--confidence", "0.8", "--side", "UP"], "side: expected LONG/SHORT/BUY/SELL"),
        (["--confidence", "0.8", "--bracket", "x:y"], "--bracket: expected numbers"),
    ],
)
def test_explain_bad_input_exits_2(
    args: list[str], fragment: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = _run(["explain", *args], capsys)
    assert code == 2
    assert fragment in err


def test_check_config_masks_secrets(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("QT_EXCHANGE__API_SECRET", "s3cr3t-value")
    code, out, err = _run(["check-config"], capsys)
    assert code == 0
    assert "s3cr3t-value" not in out + err
    assert 'api_secret = "**********"' in out
    assert "[leverage]" in out and "max_leverage = 80.0" in out


def test_bad_config_exits_78(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = tmp_path / "bad.toml"
    cfg.write_text("[sizing]\nmax_risk_per_trade = 2\n")
    code, _, err = _run(["check-config", "--config", str(cfg)], capsys)
    assert code == 78
    assert "sizing.max_risk_per_trade: Input should be less than or equal to 1" in err


def _console_script() -> str:
    script = Path(sys.executable).parent / "qtrader"
    return str(script) if script.exists() else (shutil.which("qtrader") or "qtrader")


def test_installed_console_script_acceptance() -> None:
    done = subprocess.run(  # noqa: S603 - our own console script
        [_console_script(), *ACCEPTANCE], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    assert abs(json.loads(done.stdout)["leverage_raw"] - 13.87) <= 0.01


def test_installed_console_script_bad_env_exits_78() -> None:
    env = {**os.environ, "QT_LEVERAGE__MAX_LEVERAGE": "300"}
    done = subprocess.run(  # noqa: S603 - our own console script
        [_console_script(), "check-config"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert done.returncode == 78
    assert "leverage.max_leverage" in done.stderr and "QT_LEVERAGE__MAX_LEVERAGE" in done.stderr


def test_the_cli_imports_neither_ccxt_nor_torch_until_needed() -> None:
    """Backtests start in well under a second: ccxt (~0.7 s) and torch (~1.2 s) load only when a
    command trades on Binance or trains."""
    code = (
        "import sys, quantum_trader.cli, quantum_trader.commands, quantum_trader.backtest.cli;"
        "print('ccxt' in sys.modules, 'torch' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]


@pytest.mark.parametrize("flag", ["--live", "--testnet"])
def test_stress_knobs_are_refused_in_live_and_testnet_whatever_sets_the_mode(
    flag: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Issue 10, item 9: the config says paper (the default) and the flag says live: the one
    resolved mode is what the check reads, so forced confidence never reaches real money."""
    monkeypatch.setenv("QT_SIGNALS__FORCE_CONFIDENCE", "0.95")
    monkeypatch.setenv("QT_I_UNDERSTAND_LIVE_TRADING", "yes")
    monkeypatch.setenv("QT_EXCHANGE__API_KEY", "k" * 16)
    monkeypatch.setenv("QT_EXCHANGE__API_SECRET", "s" * 16)
    monkeypatch.setenv("QT_EXCHANGE__URL_OVERRIDE", "http://127.0.0.1:9")  # nothing listens
    code, out, err = _run(["run", flag, "--duration", "1"], capsys)
    assert code == 78
    assert "force_confidence" in out + err


def test_a_non_json_list_in_the_environment_is_one_line_and_78() -> None:
    """Issue 11, item 6: ``QT_SIGNALS__SYMBOLS=BTC`` ended in a pydantic SettingsError
    traceback with exit 1 (systemd restarts that in a loop)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("QT_")}
    env["QT_SIGNALS__SYMBOLS"] = "BTC"
    out = subprocess.run(
        [_console_script(), "check-config"], env=env, capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 78
    assert "Traceback" not in out.stderr + out.stdout
    lines = (out.stderr + out.stdout).strip().splitlines()
    assert len(lines) == 1 and "QT_SIGNALS__SYMBOLS" in lines[0] and "JSON" in lines[0]


def test_an_api_port_in_use_is_one_line_and_78(tmp_path: Path) -> None:
    import socket

    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        held.listen()
        port = held.getsockname()[1]
        env = {k: v for k, v in os.environ.items() if not k.startswith("QT_")}
        env |= {"QT_API__PORT": str(port), "QT_STATE_DIR": str(tmp_path)}
        out = subprocess.run(
            [_console_script(), "run", "--paper", "--duration", "5"],
            env=env, capture_output=True, text=True, timeout=90,
        )  # fmt: skip
    assert out.returncode == 78
    assert "Traceback" not in out.stderr
    assert f"cannot listen on 127.0.0.1:{port}" in out.stderr


def test_a_second_daemon_on_one_state_directory_is_refused(tmp_path: Path) -> None:
    """Issue 11, item 10: two daemons could share one state directory and its journal."""
    from quantum_trader.runtime.statelock import lock_state_dir

    held = lock_state_dir(tmp_path)  # the first daemon
    try:
        env = {k: v for k, v in os.environ.items() if not k.startswith("QT_")}
        env |= {"QT_STATE_DIR": str(tmp_path), "QT_API__ENABLED": "false"}
        out = subprocess.run(
            [_console_script(), "run", "--paper", "--duration", "5"],
            env=env, capture_output=True, text=True, timeout=90,
        )  # fmt: skip
    finally:
        held.close()
    assert out.returncode == 78
    assert f"another qtrader (pid {os.getpid()}) is running on the state directory" in out.stdout


def test_every_command_has_real_help_and_completion_is_printed(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from quantum_trader.cli import build_parser

    parser = build_parser()
    top = parser.format_help()
    assert "paper exchange" in top and "exit codes" in top and "``" not in top
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))  # noqa: SLF001
    for name, command in sub.choices.items():
        assert command.description, f"qtrader {name} --help has no description"
    with pytest.raises(SystemExit) as done:
        parser.parse_args(["--print-completion", "bash"])
    assert done.value.code == 0
    script = capsys.readouterr().out
    assert "backtest" in script and "flatten" in script and "complete" in script


@pytest.mark.parametrize(
    "argv",
    [
        ["explain", "--confidence", "2"],
        ["explain", "--confidence", "0.8", "--volatility", "-3"],
        ["explain", "--confidence", "0.8", "--symbol-risk", "9"],
        ["explain", "--confidence", "nan"],
        ["run", "--paper", "--duration", "0"],
        ["run", "--paper", "--duration", "-5"],
        ["run", "--paper", "--duration", "nan"],
    ],
)
def test_a_value_out_of_its_domain_is_refused(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    """Issue 28, item 10 (and 31, item 1): these exited 0 — a what-if clamped silently, a run
    of 0, −5 or nan seconds ran. Now a usage error (2) naming the option, in one line."""
    try:
        code: object = main(argv)
    except SystemExit as exc:  # argparse's own usage error
        code = exc.code
    assert code == 2
    err = capsys.readouterr().err
    assert argv[-2] in err and "Traceback" not in err
