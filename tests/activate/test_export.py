"""Audience exports: consent and holdouts enforced on the way out, incremental files that replay to the membership,
crash recovery between the files and the state, and the CLI."""

from __future__ import annotations

import csv
import hashlib
import json
import random
import re
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from loop.activate import export as export_module
from loop.activate import export_audiences
from loop.cli import main
from loop.cycle import OPS_TABLES
from loop.errors import LoopError
from loop.landing.schema import ensure_table
from loop.settings import Settings
from loop.warehouse import connect

HEX64 = re.compile(r"[0-9a-f]{64}")
DAY = date(2026, 3, 14)
PAID = ("customer-match", "meta")
CHANNELS = {
    "service_recovery": "owned",
    "retargeting_holdback": "paid",
    "advocates": "owned",
    "lookalike_seed": "paid",
}


def sha(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


@dataclass
class Marts:
    """The four tables the export reads, kept as Python data so a test can change them and write them again."""

    channels: dict[str, str] = field(default_factory=lambda: dict(CHANNELS))
    members: dict[tuple[str, str], bool | None] = field(default_factory=dict)  # -> is_holdout
    contacts: dict[str, dict[str, str | None]] = field(default_factory=dict)
    consent: dict[str, tuple[bool | None, bool | None]] = field(default_factory=dict)  # advertising, opted out
    published: bool = True  # whether the build that made them published the cycle pillar (passed validation)

    def write(self, settings: Settings) -> None:
        audiences = pd.DataFrame(
            [
                {
                    "audience_id": a,
                    "name": a.replace("_", " "),
                    "purpose": "test",
                    "rule": "test rule",
                    "channel": channel,
                    "members": sum(1 for (m, _) in self.members if m == a),
                    "holdout_members": sum(1 for (m, _), h in self.members.items() if m == a and h),
                    "rule_version": "v1",
                }
                for a, channel in self.channels.items()
            ]
        )
        members = pd.DataFrame(
            [
                {"audience_id": a, "customer_id": c, "reason": "rule", "is_holdout": h}
                for (a, c), h in self.members.items()
            ],
            columns=["audience_id", "customer_id", "reason", "is_holdout"],
        )
        contacts = pd.DataFrame(
            [{"customer_id": c, **fields} for c, fields in self.contacts.items()],
            columns=["customer_id", "email", "phone", "first_name", "last_name", "country", "zip"],
        ).astype(object)
        consent = pd.DataFrame(
            [
                {"customer_id": c, "advertising_consent": adv, "opted_out_of_everything": out}
                for c, (adv, out) in self.consent.items()
            ],
            columns=["customer_id", "advertising_consent", "opted_out_of_everything"],
        ).astype(object)
        with connect(settings, write=True) as con:
            con.execute("CREATE SCHEMA IF NOT EXISTS intermediate")
            for name, frame, ddl in (
                (
                    "main.audiences",
                    audiences,
                    "audience_id VARCHAR, name VARCHAR, purpose VARCHAR, rule VARCHAR, channel VARCHAR, "
                    "members BIGINT, holdout_members BIGINT, rule_version VARCHAR",
                ),
                (
                    "main.audience_members",
                    members,
                    "audience_id VARCHAR, customer_id VARCHAR, reason VARCHAR, is_holdout BOOLEAN",
                ),
                (
                    "intermediate.int_customer_contacts",
                    contacts,
                    "customer_id VARCHAR, email VARCHAR, phone VARCHAR, first_name VARCHAR, last_name VARCHAR, "
                    "country VARCHAR, zip VARCHAR",
                ),
                (
                    "intermediate.int_customer_consent",
                    consent,
                    "customer_id VARCHAR, advertising_consent BOOLEAN, opted_out_of_everything BOOLEAN",
                ),
            ):
                con.execute(f"CREATE OR REPLACE TABLE {name} ({ddl})")
                con.register("frame", frame)
                con.execute(f"INSERT INTO {name} SELECT * FROM frame")
                con.unregister("frame")
            record_build(con, published=self.published)

    def owned_expected(self, audience: str) -> set[str]:
        """Who an owned file must hold: members, not holdout, not opted out (no consent row at all is fine: the
        company's own channels need no advertising consent), and not of unknown opt-out."""
        return {
            c
            for (a, c), holdout in self.members.items()
            if a == audience and holdout is False and (c not in self.consent or self.consent[c][1] is False)
        }


def record_build(con: duckdb.DuckDBPyConnection, *, published: bool, success: bool = True) -> None:
    """Log a build of these marts the way a cycle does, and its cycle publication when ``published``."""
    for table in ("ops.build_log", "ops.publication_log"):
        ensure_table(con, table, OPS_TABLES[table])
    attempt = f"test__{con.execute('SELECT count(*) FROM ops.build_log').fetchall()[0][0]}#1"
    con.execute(
        "INSERT INTO ops.build_log VALUES ('test', ?, 1, 1, 1.0, now(), ?, ?, ?, NULL)", [DAY, attempt, DAY, success]
    )
    if published:
        con.execute(
            "INSERT INTO ops.publication_log VALUES ('test', ?, 'cycle', 'v', 1, now(), ?, ?)", [DAY, attempt, DAY]
        )


def _contact(i: int) -> dict[str, str | None]:
    return {
        "email": f" Customer.{i:02d}@Example.com ",
        "phone": f"(11) 9{1000 + i:04d}-{5000 + i:04d}",
        "first_name": "José" if i % 2 else "Zoë",
        "last_name": f"Silva-{chr(97 + i)}",
        "country": "br" if i % 3 else "BR",
        "zip": "01310-100",
    }


@pytest.fixture
def marts(settings: Settings) -> Marts:
    data = Marts()
    for i in range(1, 21):
        data.contacts[f"c{i:02d}"] = _contact(i)
        data.consent[f"c{i:02d}"] = (True, False)
    # Planted: no advertising consent, opted out of everything, no consent row, unknown opt-out, no identifier.
    data.consent["c07"] = (False, False)
    data.consent["c08"] = (True, True)
    del data.consent["c09"]
    data.consent["c10"] = (None, None)
    data.contacts["c11"] = {"email": "not-an-email", "phone": "123", "first_name": "Ana", "last_name": None,
                            "country": "Brazil", "zip": None}  # fmt: skip
    for audience in CHANNELS:
        for i in range(1, 16):
            data.members[(audience, f"c{i:02d}")] = False
        data.members[(audience, "c16")] = True  # a holdout member
    data.write(settings)
    return data


def _read(path: Path) -> tuple[list[str], list[tuple[str, ...]]]:
    with open(path, encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle))
    return rows[0], [tuple(r) for r in rows[1:]]


def _replay(audience_dir: Path) -> set[tuple[str, ...]]:
    """Rebuild the membership from the files, in manifest order, checking every file's count and sha256."""
    manifest = json.loads((audience_dir / "manifest.json").read_text(encoding="utf-8"))
    rows: set[tuple[str, ...]] = set()
    for number, entry in enumerate(manifest["exports"], start=1):
        assert entry["seq"] == number
        files = {}
        for item in entry["files"]:
            path = audience_dir / item["name"]
            assert hashlib.sha256(path.read_bytes()).hexdigest() == item["sha256"]
            header, body = _read(path)
            assert header == manifest["columns"] and len(body) == item["rows"]
            files[item["kind"]] = set(body)
        if entry["kind"] == "full":
            rows = files["full"]
        else:
            assert not files["adds"] & rows, "an add is never a row already there"
            assert files["removes"] <= rows, "a remove is always a row that was there"
            rows = (rows - files["removes"]) | files["adds"]
        assert len(rows) == entry["rows"]
    return rows


def _export(settings: Settings, destination: str, out: Path, run: str = "r") -> dict[str, export_module.AudienceExport]:
    return {e.audience_id: e for e in export_audiences(settings, destination, out, run_id=run, as_of=DAY)}


def _all_values(out: Path, destination: str) -> list[tuple[str, ...]]:
    values = []
    for path in sorted((out / destination).glob("*/*.csv")):
        values.extend(_read(path)[1])
    return values


# ----------------------------------------------------------------------------------------------------------------
# who is exported
# ----------------------------------------------------------------------------------------------------------------


def test_each_destination_takes_its_channel(marts: Marts, settings: Settings, tmp_path: Path) -> None:
    out = tmp_path / "out"
    for destination in PAID:
        assert set(_export(settings, destination, out)) == {"retargeting_holdback", "lookalike_seed"}
    assert set(_export(settings, "owned", out)) == {"service_recovery", "advocates"}
    assert sorted(p.name for p in out.iterdir()) == ["customer-match", "meta", "owned"]


def test_consent_and_holdout_exclusions(marts: Marts, settings: Settings, tmp_path: Path) -> None:
    out = tmp_path / "out"
    results = {d: _export(settings, d, out) for d in (*PAID, "owned")}
    # Owned: plain customer ids, exactly the members not held out and not opted out (or of unknown consent).
    for audience in ("service_recovery", "advocates"):
        header, rows = _read(results["owned"][audience].files[0].path)
        assert header == ["customer_id"]
        assert {r[0] for r in rows} == marts.owned_expected(audience)
        assert not {"c08", "c10", "c16"} & {r[0] for r in rows}
        assert {"c07", "c09", "c11"} <= {r[0] for r in rows}, "owned files need no advertising consent, no contacts"
    # Paid: nobody without advertising consent, opted out, of unknown consent, held out; no row without identifier.
    banned = {"c07", "c08", "c09", "c10", "c16"}
    banned_hashes = {sha(f"customer.{int(c[1:]):02d}@example.com") for c in banned}
    kept_hashes = {sha(f"customer.{i:02d}@example.com") for i in (1, 2, 3, 4, 5, 6, 12, 13, 14, 15)}
    cm = _all_values(out, "customer-match")
    assert not banned_hashes & {r[0] for r in cm}
    assert {r[0] for r in cm} == kept_hashes
    meta = _all_values(out, "meta")
    assert not banned_hashes & {r[0] for r in meta}
    assert {r[0] for r in meta} == kept_hashes
    # Counted per audience.
    for destination in PAID:
        result = results[destination]["lookalike_seed"]
        assert result.members == 16 and result.rows == 10
        assert dict(result.excluded) == {
            "holdout": 1,
            "opted_out": 1,
            "consent_unknown": 0,
            "no_advertising_consent": 3,  # c07 said no; c09 never said; c10's answer is unknown
            "no_identifier": 1,
            # c11's row: only a first name and an unusable country -> left out
        }
    owned = results["owned"]["advocates"]
    assert owned.rows == 13 and dict(owned.excluded)["consent_unknown"] == 1


def test_a_null_holdout_flag_is_not_exported(marts: Marts, settings: Settings, tmp_path: Path) -> None:
    marts.members[("advocates", "c01")] = None
    marts.write(settings)
    result = _export(settings, "owned", tmp_path / "out")["advocates"]
    assert "c01" not in {r[0] for r in _read(result.files[0].path)[1]}
    assert result.excluded["holdout"] == 2


def test_paid_values_are_hashes_or_empty(marts: Marts, settings: Settings, tmp_path: Path) -> None:
    out = tmp_path / "out"
    marts.contacts["c01"]["phone"] = "12345"  # invalid: empty in the file, the row kept for its email
    marts.write(settings)
    _export(settings, "customer-match", out)
    _export(settings, "meta", out)
    cm = _all_values(out, "customer-match")
    assert cm
    for email, phone, first, last, country, zip_code in cm:
        for value in (email, phone, first, last):
            assert value == "" or HEX64.fullmatch(value)
        assert country == "BR" and zip_code == "01310-100", "Google wants country and zip in clear"
    assert any(row[1] == "" for row in cm)
    for row in _all_values(out, "meta"):
        assert all(value == "" or HEX64.fullmatch(value) for value in row), "Meta hashes every value"
    first_row = next(r for r in cm if r[0] == sha("customer.02@example.com"))
    assert first_row[1] == sha("+5511910025002") and first_row[2] == sha("zoë")


# ----------------------------------------------------------------------------------------------------------------
# incremental files
# ----------------------------------------------------------------------------------------------------------------


def test_first_full_then_adds_and_removes(marts: Marts, settings: Settings, tmp_path: Path) -> None:
    out = tmp_path / "out"
    first = _export(settings, "owned", out)["advocates"]
    assert first.seq == 1 and first.kind == "full"
    assert [f.path.name for f in first.files] == ["0001-2026-03-14-full.csv"]
    assert first.files[0].path.parent == out / "owned" / "advocates"

    del marts.members[("advocates", "c01")]
    marts.members[("advocates", "c17")] = False
    marts.members[("advocates", "c18")] = True  # a new holdout: not added
    marts.write(settings)
    second = _export(settings, "owned", out)["advocates"]
    assert second.seq == 2 and second.kind == "delta"
    assert [f.path.name for f in second.files] == ["0002-2026-03-14-removes.csv", "0002-2026-03-14-adds.csv"]
    removes, adds = (_read(f.path)[1] for f in second.files)
    assert removes == [("c01",)] and adds == [("c17",)]
    assert (second.adds, second.removes, second.rows) == (1, 1, first.rows)
    assert {r[0] for r in _replay(out / "owned" / "advocates")} == marts.owned_expected("advocates")


def test_unchanged_export_writes_empty_adds_and_removes(marts: Marts, settings: Settings, tmp_path: Path) -> None:
    out = tmp_path / "out"
    _export(settings, "meta", out)
    again = _export(settings, "meta", out)["lookalike_seed"]
    assert again.kind == "delta" and again.adds == 0 and again.removes == 0
    for item in again.files:
        assert item.path.read_text(encoding="utf-8") == "email,phone,fn,ln,zip,country\n"
        assert item.rows == 0
    manifest = json.loads((out / "meta" / "lookalike_seed" / "manifest.json").read_text())
    assert [e["seq"] for e in manifest["exports"]] == [1, 2]


def test_contact_change_is_a_remove_and_an_add(marts: Marts, settings: Settings, tmp_path: Path) -> None:
    out = tmp_path / "out"
    _export(settings, "customer-match", out)
    marts.contacts["c03"]["email"] = "new.address@example.com"
    marts.write(settings)
    result = _export(settings, "customer-match", out)
    for audience in ("retargeting_holdback", "lookalike_seed"):
        removes, adds = (_read(f.path)[1] for f in result[audience].files)
        assert [r[0] for r in removes] == [sha("customer.03@example.com")]
        assert [r[0] for r in adds] == [sha("new.address@example.com")]
        assert removes[0][1:] == adds[0][1:], "the rest of the row is unchanged"


def test_replaying_the_files_gives_the_current_membership(marts: Marts, settings: Settings, tmp_path: Path) -> None:
    """Random changes over several runs; after each, full + every delta in order == a fresh full export."""
    rng = random.Random(7)
    out = tmp_path / "incremental"
    customers = [f"c{i:02d}" for i in range(1, 41)]
    for c in customers:
        marts.contacts.setdefault(c, _contact(int(c[1:])))
        marts.consent.setdefault(c, (True, False))
    marts.write(settings)
    for run in range(6):
        if run:
            for _ in range(8):
                audience, customer = rng.choice(list(CHANNELS)), rng.choice(customers)
                key = (audience, customer)
                if key in marts.members and rng.random() < 0.6:
                    del marts.members[key]
                else:
                    marts.members[key] = rng.random() < 0.1
            changed = rng.choice(customers)
            marts.contacts[changed]["email"] = f"run{run}.{changed}@example.com"
            marts.consent[rng.choice(customers)] = (rng.random() < 0.5, rng.random() < 0.2)
            marts.write(settings)
        fresh = tmp_path / f"fresh{run}"
        for destination in ("customer-match", "meta", "owned"):
            incremental = _export(settings, destination, out, run=f"run{run}")
            full = _export(settings, destination, fresh, run=f"fresh{run}")
            assert set(incremental) == set(full)
            for audience, item in full.items():
                assert item.kind == "full"
                expected = set(_read(item.files[0].path)[1])
                assert _replay(out / destination / audience) == expected, (run, destination, audience)
                if destination == "owned":
                    assert {r[0] for r in expected} == marts.owned_expected(audience)


def test_an_audience_that_leaves_the_destination_is_emptied(marts: Marts, settings: Settings, tmp_path: Path) -> None:
    out = tmp_path / "out"
    _export(settings, "owned", out)
    marts.channels["advocates"] = "paid"
    marts.write(settings)
    result = _export(settings, "owned", out)["advocates"]
    assert result.rows == 0 and result.adds == 0 and result.removes == 13
    assert _replay(out / "owned" / "advocates") == set()
    assert "advocates" not in _export(settings, "owned", out), "once emptied it is not exported again"


# ----------------------------------------------------------------------------------------------------------------
# crashes
# ----------------------------------------------------------------------------------------------------------------


class Crash(RuntimeError):
    pass


def test_crash_between_files_and_state_is_repaired(
    marts: Marts, settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "out"
    folder = out / "owned" / "advocates"
    _export(settings, "owned", out)
    del marts.members[("advocates", "c02")]
    marts.write(settings)

    def crash(*args: object, **kwargs: object) -> None:
        raise Crash("killed after the files, before the state")

    with monkeypatch.context() as patch:
        patch.setattr(export_module, "_commit", crash)
        with pytest.raises(Crash):
            _export(settings, "owned", out)
    assert (folder / "0002-2026-03-14-removes.csv").exists(), "the files were written"
    manifest = json.loads((folder / "manifest.json").read_text())
    assert [e["seq"] for e in manifest["exports"]] == [1], "the manifest never lists an uncommitted export"
    assert _replay(folder) == {(c,) for c in marts.owned_expected("advocates") | {"c02"}}

    # More changes before the next run: the uncommitted seq 2 is dropped and written again from the state.
    marts.members[("advocates", "c18")] = False
    marts.write(settings)
    later = date(2026, 3, 15)
    result = {e.audience_id: e for e in export_audiences(settings, "owned", out, run_id="next", as_of=later)}
    advocates = result["advocates"]
    assert advocates.seq == 2 and (advocates.removes, advocates.adds) == (1, 1)
    assert any("did not commit" in note for note in advocates.repaired)
    assert not (folder / "0002-2026-03-14-removes.csv").exists()
    assert sorted(p.name for p in folder.iterdir()) == [
        "0001-2026-03-14-full.csv",
        "0002-2026-03-15-adds.csv",
        "0002-2026-03-15-removes.csv",
        "manifest.json",
    ]
    assert {r[0] for r in _replay(folder)} == marts.owned_expected("advocates")


def test_crash_between_state_and_manifest_is_repaired(
    marts: Marts, settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "out"
    folder = out / "meta" / "lookalike_seed"
    _export(settings, "meta", out)
    del marts.members[("lookalike_seed", "c01")]
    marts.write(settings)
    with monkeypatch.context() as patch:
        patch.setattr(export_module, "_write_manifest", lambda *a, **k: (_ for _ in ()).throw(Crash("killed")))
        with pytest.raises(Crash):
            _export(settings, "meta", out)
    assert [e["seq"] for e in json.loads((folder / "manifest.json").read_text())["exports"]] == [1]
    result = _export(settings, "meta", out)["lookalike_seed"]
    assert result.seq == 3 and "rewrote manifest.json from the committed exports" in result.repaired
    manifest = json.loads((folder / "manifest.json").read_text())
    assert [(e["seq"], e["removes"]) for e in manifest["exports"]] == [(1, 0), (2, 1), (3, 0)]
    fresh = _export(settings, "meta", tmp_path / "fresh")["lookalike_seed"]
    assert _replay(folder) == set(_read(fresh.files[0].path)[1])


def test_a_lost_committed_file_is_an_error(marts: Marts, settings: Settings, tmp_path: Path) -> None:
    out = tmp_path / "out"
    first = _export(settings, "owned", out)["advocates"]
    first.files[0].path.unlink()
    with pytest.raises(LoopError, match="lacks committed export files"):
        _export(settings, "owned", out)


# ----------------------------------------------------------------------------------------------------------------
# inputs and the command line
# ----------------------------------------------------------------------------------------------------------------


def test_unbuilt_marts_and_unsafe_ids_are_clear_errors(settings: Settings, tmp_path: Path, marts: Marts) -> None:
    with pytest.raises(LoopError, match="Unknown destination"):
        export_audiences(settings, "tiktok", tmp_path, run_id="r")
    marts.channels["../escape"] = "owned"
    marts.write(settings)
    with pytest.raises(LoopError, match="cannot be a folder name"):
        export_audiences(settings, "owned", tmp_path, run_id="r")
    with connect(settings, write=True) as con:
        con.execute("DROP TABLE main.audience_members")
    with pytest.raises(LoopError, match=r"main.audience_members is not in the warehouse"):
        export_audiences(settings, "owned", tmp_path, run_id="r")


def test_only_validated_published_marts_are_exported(marts: Marts, settings: Settings, tmp_path: Path) -> None:
    marts.published = False  # a build whose cycle validation failed (or whose cycle is still running)
    marts.write(settings)
    with pytest.raises(LoopError, match="did not publish the cycle pillar"):
        export_audiences(settings, "owned", tmp_path, run_id="r")
    with connect(settings, write=True) as con:
        record_build(con, published=False, success=False)  # a later build that failed
    with pytest.raises(LoopError, match=r"newest build .* failed"):
        export_audiences(settings, "owned", tmp_path, run_id="r")
    assert not list(tmp_path.glob("owned/*/*.csv"))
    marts.published = True
    marts.write(settings)
    assert export_audiences(settings, "owned", tmp_path, run_id="r")


def test_cli_export_audiences(
    marts: Marts, settings: Settings, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("LOOP_DATA_DIR", str(settings.root))
    assert main(["export", "audiences"]) == 1
    assert "needs --destination" in capsys.readouterr().err
    assert main(["export", "cycle", "--destination", "meta"]) == 1
    assert "--destination goes with" in capsys.readouterr().err
    assert main(["export", "audiences", "--destination", "owned"]) == 0
    out = capsys.readouterr().out
    assert "advocates" in out and "service_recovery" in out and "(13 rows)" in out
    assert (settings.exports_dir / "owned" / "advocates" / "manifest.json").exists()
    target = settings.root / "elsewhere, with 'quotes'"
    assert main(["export", "audiences", "--destination", "customer-match", "--out", str(target)]) == 0
    assert "0001-" in capsys.readouterr().out
    assert (target / "customer-match" / "lookalike_seed" / "manifest.json").exists()
