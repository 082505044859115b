"""Issue 11, item 9: of 228 fuzzed configs 19 gave tracebacks and 31 a wrong exit code. Here every
bad config — bad values of every number and choice in every section, unknown keys and sections,
broken, binary and deeply nested files, bad environment values and misspelt variables — must
exit 78 with a one-line message and no traceback, and never echo a secret it was given."""

from __future__ import annotations

import os
import typing
from collections.abc import Iterator
from pathlib import Path

import pytest

from quantum_trader.cli import main
from quantum_trader.settings import Settings

BAD_NUMBERS = ["true", '"text"', "inf", "-inf", "nan", "1e400", "[]", "{}"]


def _numeric_and_choice_fields() -> Iterator[tuple[str, str, str]]:
    for section, field in Settings.model_fields.items():
        model = field.annotation
        for key, f in getattr(model, "model_fields", {}).items():
            text = str(f.annotation)
            if "bool" in text:
                continue
            if typing.get_origin(f.annotation) is typing.Literal:
                yield section, key, '"nonsense"'
                yield section, key, "3"
            elif "int" in text or "float" in text:
                for value in BAD_NUMBERS[: 8 if key.endswith(("_usd", "balance")) else 4]:
                    yield section, key, value


def _cases() -> list[tuple[str, str, dict[str, str]]]:
    out: list[tuple[str, str, dict[str, str]]] = []
    for section, key, value in _numeric_and_choice_fields():
        out.append((f"{section}.{key}={value}", f"[{section}]\n{key} = {value}\n", {}))
    for section in Settings.model_fields:
        out.append((f"{section}.unknown", f"[{section}]\nno_such_knob = 1\n", {}))
        out.append((f"{section} as a number", f"{section} = 5\n", {}))
    out += [
        ("unknown section", "[nonsense]\na = 1\n", {}),
        ("broken toml", "[risk\nmax_positions = 3\n", {}),
        ("deep toml", "a = " + "[" * 5_000 + "]" * 5_000 + "\n", {}),
        ("binary", "\x00\xff\xfe binary \x00", {}),
        ("env list not json", "", {"QT_SIGNALS__SYMBOLS": "BTC"}),
        ("env list broken json", "", {"QT_SIGNALS__SYMBOLS": '["BTC/USDT:USDT"'}),
        ("env misspelt", "", {"QT_LEVRAGE__MAX_LEVERAGE": "40"}),
        ("env unknown key", "", {"QT_RISK__MAX_POSITONS": "3"}),
        ("env bool as number", "", {"QT_LEVELS__LIQ_SAFETY": "true"}),
        ("env inf minutes", "", {"QT_RISK__CIRCUIT_BREAKER_COOLDOWN_MINUTES": "inf"}),
        ("env secret of a wrong type", "[exchange]\napi_key = 12345678901234\n", {}),
        ("secret in a table", '[exchange]\napi_secret = {s = "hunter2-very-secret"}\n', {}),
        # issue 28, item 10: these were accepted
        ("no symbols", "[signals]\nsymbols = []\n", {}),
        ("bogus symbol", '[signals]\nsymbols = ["BTC"]\n', {}),
        ("symbol of numbers", "[signals]\nsymbols = [5]\n", {}),
        ("inverse symbol", '[signals]\nsymbols = ["BTC/USD:BTC"]\n', {}),
        ("env no symbols", "", {"QT_SIGNALS__SYMBOLS": "[]"}),
        ("garbage redis url", '[redis]\nurl = "hunter2-very-secret garbage"\n', {}),
        ("redis url of http", '[redis]\nurl = "http://127.0.0.1:6379"\n', {}),
        ("env garbage redis url", "", {"QT_REDIS__URL": "::::hunter2-very-secret"}),
        ("http engine url garbage", '[signals]\nhttp_url = "not a url"\n', {}),
        ("http engine url ftp", '[signals]\nhttp_url = "ftp://127.0.0.1/x"\n', {}),
    ]
    return out


CASES = _cases()


def test_there_are_at_least_two_hundred() -> None:
    assert len(CASES) >= 200, len(CASES)


@pytest.mark.parametrize(("name", "toml", "env"), CASES, ids=[c[0] for c in CASES])
def test_every_bad_config_exits_78_with_one_line(
    name: str,
    toml: str,
    env: dict[str, str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    for key in [k for k in os.environ if k.startswith("QT_") and k != "QT_STATE_DIR"]:
        monkeypatch.delenv(key)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    argv = ["check-config"]
    if toml:
        path = tmp_path / "bad.toml"
        path.write_bytes(toml.encode("utf-8", "surrogateescape") if name != "binary" else
                         b"\x00\xff\xfe binary \x00")  # fmt: skip
        argv += ["--config", str(path)]
    code = main(argv)
    out, err = capsys.readouterr()
    text = (out + err).strip()
    assert code == 78, (name, text)
    assert "Traceback" not in text
    assert len(text.splitlines()) == 1, text
    assert "hunter2" not in text and "12345678901234" not in text
