"""The experience log keeps its file open for appending: every line lands, a compaction keeps the
last ``keep`` and later lines go to the compacted file, and a reload sees exactly what was kept."""

from __future__ import annotations

from pathlib import Path

from quantum_trader.sizing.experiences import ExperienceLog
from quantum_trader.sizing.state import Experience


def _exp(k: int) -> Experience:
    return Experience((0.5, 1.0, 0.1, 0.0, 0.0, 0.1), 1.0 + k / 1e4, float(k), -0.3, 0.1)


def test_lines_after_a_compaction_land_in_the_compacted_file(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "experiences.jsonl"
    log = ExperienceLog(path, keep=10)
    for k in range(57):  # the 51st line compacts to the last 10; six more follow
        log.append(_exp(k))
    assert len(path.read_text().splitlines()) == 16 == log.lines
    again = ExperienceLog(path, keep=10).load()
    assert [e.reward for e in again] == [float(k) for k in range(47, 57)]
    log.close()
    log.close()  # twice is harmless
    log.append(_exp(57))  # reopens
    assert path.read_text().splitlines()[-1].startswith('{"s"')
    assert len(path.read_text().splitlines()) == 17
