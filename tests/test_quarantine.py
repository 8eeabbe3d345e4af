"""The quarantine for the people who fix data: list, explain, isolate and replay, always reconciled."""

from __future__ import annotations

from datetime import date

import pytest

from loop import quarantine
from loop.cli import main
from loop.errors import LoopError
from loop.landing import land_pillar
from loop.settings import Settings
from loop.warehouse import connect

DAY = date(2026, 3, 2)
EVENTS = "experience/events/date=2026-03-02/events.ndjson"


def _land(settings: Settings) -> None:
    for pillar in ("marketing", "experience", "product"):
        land_pillar(settings, pillar, DAY, run_id="t")


def _reconciled(settings: Settings) -> None:
    """Per file: rows read by its latest landing = rows in raw now + rows held now."""
    with connect(settings, write=False) as con:
        files = con.execute(
            """SELECT source, source_file, rows_read FROM ops.landing_log WHERE status IN ('landed', 'replaced')
               QUALIFY row_number() OVER (PARTITION BY source_file ORDER BY landed_at DESC) = 1"""
        ).fetchall()
        for source, source_file, rows_read in files:
            [(in_raw,)] = con.execute(
                f'SELECT count(*) FROM raw."{source}" WHERE _source_file = ?', [source_file]
            ).fetchall()
            [(held,)] = con.execute(
                "SELECT count(*) FROM ops.quarantine WHERE source_file = ? AND released_at IS NULL", [source_file]
            ).fetchall()
            assert in_raw + held == rows_read, (source_file, in_raw, held, rows_read)


def test_list_groups_by_kind_and_reason(landed_fixture: Settings) -> None:
    _land(landed_fixture)
    summary = quarantine.summary(landed_fixture, quarantine.Filters(source="events"))
    kinds = {row["kind"] for row in summary}
    assert {"malformed", "contract", "duplicate", "late", "future", "rule"} <= kinds
    assert sum(row["records"] for row in summary) == 9
    held = quarantine.records(landed_fixture, quarantine.Filters(kind="duplicate"), limit=10)
    assert {(r["file"], r["record"]) for r in held} >= {(EVENTS, 3)}
    with pytest.raises(LoopError, match="Unknown reason kind"):
        quarantine.summary(landed_fixture, quarantine.Filters(kind="bogus"))


def test_explain_says_what_the_contract_says(landed_fixture: Settings) -> None:
    _land(landed_fixture)
    explained = quarantine.explain(landed_fixture, EVENTS, 6)
    assert explained["kind"] == "contract" and explained["reason"].startswith('"timestamp" must be an ISO 8601')
    assert any(line.startswith("timestamp") for line in explained["contract"])
    assert any(field.startswith("messageId") for field in explained["fields"])
    with pytest.raises(LoopError, match="No quarantined record 99"):
        quarantine.explain(landed_fixture, EVENTS, 99)


def test_isolate_then_replay_is_reconciled(landed_fixture: Settings) -> None:
    _land(landed_fixture)
    with connect(landed_fixture, write=False) as con:
        before = con.execute("SELECT list(message_id ORDER BY message_id) FROM raw.events").fetchall()
    assert quarantine.isolate(landed_fixture, EVENTS, [1], "this session's latency is a lab test", "iso") == 1
    _reconciled(landed_fixture)
    with connect(landed_fixture, write=False) as con:
        assert con.execute("SELECT count(*) FROM raw.events WHERE _row_number = 1").fetchall() == [(0,)]
        [(reason, kind)] = con.execute(
            "SELECT reason, reason_kind FROM ops.quarantine WHERE source_file = ? AND row_number = 1", [EVENTS]
        ).fetchall()
    assert (reason, kind) == ("isolated by an operator: this session's latency is a lab test", "isolated")
    outcome = quarantine.replay(landed_fixture, quarantine.Filters(kind="isolated"), "replay")
    assert (outcome.evaluated, outcome.released) == (1, 1)
    [file] = outcome.files  # the file's counts as they stand now
    assert (file.file, file.rows_read, file.rows_loaded, file.rows_quarantined) == (EVENTS, 12, 3, 9)
    _reconciled(landed_fixture)
    with connect(landed_fixture, write=False) as con:
        assert con.execute("SELECT list(message_id ORDER BY message_id) FROM raw.events").fetchall() == before
    with pytest.raises(LoopError, match="Isolated 0 of the 1"):
        quarantine.isolate(landed_fixture, EVENTS, [7], "a malformed line is not landed", "iso")


def test_replay_keeps_what_still_fails_with_its_current_reason(landed_fixture: Settings) -> None:
    _land(landed_fixture)
    outcome = quarantine.replay(landed_fixture, quarantine.Filters(source="events"), "replay")
    assert (outcome.evaluated, outcome.released, outcome.files) == (9, 0, [])
    _reconciled(landed_fixture)
    assert sum(r["records"] for r in quarantine.summary(landed_fixture, quarantine.Filters(source="events"))) == 9


def test_cli_quarantine(landed_fixture: Settings, monkeypatch: pytest.MonkeyPatch, capsys) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("LOOP_DATA_DIR", str(landed_fixture.root))
    _land(landed_fixture)
    assert main(["quarantine"]) == 0
    out = capsys.readouterr().out
    assert "Held in quarantine" in out and "duplicate" in out
    assert main(["quarantine", "show", "--file", EVENTS, "--record", "6"]) == 0
    assert "what the contract says" in capsys.readouterr().out
    assert main(["quarantine", "isolate", "--file", EVENTS, "--record", "1", "--reason", "lab test"]) == 0
    assert main(["quarantine", "replay", "--kind", "isolated"]) == 0
    assert "1 of 1 record(s) released" in capsys.readouterr().out
    assert main(["quarantine", "replay", "--kind", "isolated"]) == 0
    assert "Nothing held matches" in capsys.readouterr().out
    assert main(["quarantine", "show", "--file", EVENTS]) == 1
    assert "needs --file and --record" in capsys.readouterr().err
