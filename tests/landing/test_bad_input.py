"""The bad-input corpus (tests/fixtures/bad): every kind lands its good rows, quarantines its bad ones with a specific
reason, sets aside what cannot be read (and says so), reports what does not fit the layout, and reconciles."""

from __future__ import annotations

from collections import defaultdict
from pathlib import PurePosixPath

import pytest

from loop.contracts import SOURCES
from loop.warehouse import connect

from .corpus import CORPUS, case_names, expected_of, landed

CASES = case_names()


def test_the_corpus_covers_the_pillars_and_the_layout() -> None:
    assert len(CASES) >= 35
    sources = {PurePosixPath(f).parts[1] for name in CASES for f in expected_of(name)["files"]}
    assert sources == {source.name for source in SOURCES}
    assert sum(bool(expected_of(name)["notices"]) for name in CASES) >= 3
    readme = (CORPUS / "README.md").read_text(encoding="utf-8")
    assert all(f"`{name}`" in readme for name in CASES), "tests/fixtures/bad/README.md lists every kind"


@pytest.mark.parametrize("name", CASES)
def test_bad_input(name: str, tmp_path_factory: pytest.TempPathFactory) -> None:
    case = landed(name, tmp_path_factory)
    expected = case.expected
    results = {result.file: result for result in case.results}
    assert len(results) == len(case.results), "one result per file"
    assert sorted(results) == sorted(expected["files"]), "the files landed (or set aside) are exactly the expected ones"

    with connect(case.settings, write=False) as con:
        for file, want in expected["files"].items():
            result = results[file]
            got = (result.status, result.rows_read, result.rows_loaded, result.rows_quarantined)
            assert got == (want["status"], want["rows_read"], want["rows_loaded"], want["rows_quarantined"]), file
            assert result.reason == want.get("reason"), file

            # Reconciliation: the latest log entry, and what raw and quarantine hold for the file now.
            log = con.execute(
                "SELECT status, rows_read, rows_loaded, rows_quarantined, reason FROM ops.landing_log "
                "WHERE source_file = ? ORDER BY landed_at DESC LIMIT 1",
                [file],
            ).fetchone()
            assert log is not None and log[0] == want["status"] and log[4] == want.get("reason"), file
            assert log[1] == log[2] + log[3] == want["rows_read"], file
            source = result.source
            in_raw = con.execute(f"SELECT count(*) FROM raw.{source} WHERE _source_file = ?", [file]).fetchone()
            held = con.execute(
                "SELECT count(*) FROM ops.quarantine WHERE source_file = ? AND released_at IS NULL", [file]
            ).fetchone()
            assert in_raw is not None and held is not None
            assert (in_raw[0], held[0]) == (want["rows_loaded"], want["rows_quarantined"]), file

            # Every quarantined record: its position, the kind of reason, the reason itself.
            rows = con.execute(
                "SELECT row_number, reason_kind, reason FROM ops.quarantine WHERE source_file = ? "
                "AND released_at IS NULL ORDER BY row_number",
                [file],
            ).fetchall()
            quarantined = {str(number): (kind, reason) for number, kind, reason in rows}
            wanted = want.get("quarantined", {})
            assert sorted(quarantined, key=int) == sorted(wanted, key=int), file
            for position, spec in wanted.items():
                kind, reason = quarantined[position]
                assert kind == spec["kind"], (file, position, reason)
                if "prefix" in spec:
                    assert reason.startswith(spec["prefix"]), (file, position, reason)
                else:
                    assert reason == spec["reason"], (file, position)

        # A file set aside never keeps its siblings from landing.
        by_folder: dict[str, list[str]] = defaultdict(list)
        for file in results:
            by_folder[str(PurePosixPath(file).parent)].append(file)
        for file, result in results.items():
            if result.status == "set_aside":
                siblings = [results[f] for f in by_folder[str(PurePosixPath(file).parent)] if f != file]
                assert any(s.status == "landed" and s.rows_loaded > 0 for s in siblings), file

        # Layout notices: returned by the landing and recorded in ops.layout_notices.
        assert case.notices == expected["notices"]
        recorded = dict(con.execute("SELECT path, notice FROM ops.layout_notices").fetchall())
        assert recorded == expected["notices"]

        # Schema drift: exactly what the case expects, and never a reason to quarantine.
        drift: dict[str, dict[str, str]] = defaultdict(dict)
        for file, column, change in con.execute(
            "SELECT source_file, column_name, change FROM ops.schema_drift"
        ).fetchall():
            drift[file][column] = change
        assert dict(drift) == expected.get("drift", {})

        # Values landed exactly as written (no rounding, no reinterpretation).
        for source, columns in expected.get("landed", {}).items():
            for column, values in columns.items():
                got_values = con.execute(f'SELECT "{column}"::VARCHAR FROM raw.{source}').fetchall()
                assert sorted((v for (v,) in got_values), key=lambda v: (v is not None, v)) == values, (
                    source,
                    column,
                )

    # Good rows land in every case, and every case has something bad to show.
    assert sum(r.rows_loaded for r in case.results) > 0
    assert any(r.rows_quarantined or r.status == "set_aside" for r in case.results) or expected["notices"]
