"""The bad-input corpus (tests/fixtures/bad): its cases, and each case landed once per test session.

A case is a folder holding ``landing/`` (a landing tree for 2026-03-02), sometimes other folders beside it that
links point to, and ``expected.json``:

```
about      what the case is about
settings   Settings overrides (e.g. {"max_record_bytes": 4096})
make       what the test creates before landing, instead of committing it:
           {"append": {"file": F, "parts": [text, [char, count], ...]}}   a line too long to commit
           {"symlink": {"path": P, "target": T}}   T relative to the landing folder
           {"fifo": P}    {"chmod": {"path": P, "mode": 0}}
files      per file landed (relative to the landing folder): status, rows_read, rows_loaded, rows_quarantined,
           reason (a set-aside file) and quarantined: {position: {kind, reason | prefix}}
notices    every layout notice expected: {path: notice}
drift      {file: {column: "new" | "missing"}}: every schema drift expected
landed     {source: {column: [values]}}: the values now in raw.<source> (as text, sorted)
```
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from loop.landing import FileLanding, land_pillar
from loop.settings import PILLARS, Settings

CORPUS = Path(__file__).parent.parent / "fixtures" / "bad"
DAY = date(2026, 3, 2)


def case_names() -> list[str]:
    return sorted(p.parent.name for p in CORPUS.glob("*/expected.json"))


def expected_of(name: str) -> dict[str, Any]:
    return json.loads((CORPUS / name / "expected.json").read_text(encoding="utf-8"))


@dataclass
class LandedCase:
    name: str
    expected: dict[str, Any]
    settings: Settings
    results: list[FileLanding] = field(default_factory=list)
    notices: dict[str, str] = field(default_factory=dict)


def _make(landing: Path, recipe: dict[str, Any]) -> None:
    (what, spec), *_ = recipe.items()
    if what == "append":
        text = "".join(part if isinstance(part, str) else part[0] * part[1] for part in spec["parts"])
        with (landing / spec["file"]).open("a", encoding="utf-8", newline="") as handle:
            handle.write(text)
    elif what == "symlink":
        path = landing / spec["path"]
        path.parent.mkdir(parents=True, exist_ok=True)
        path.symlink_to((landing / spec["target"]).resolve())
    elif what == "fifo":
        path = landing / spec
        path.parent.mkdir(parents=True, exist_ok=True)
        os.mkfifo(path)
    elif what == "chmod":
        if os.geteuid() == 0:
            pytest.skip("root reads every file: a missing read permission cannot be shown")
        (landing / spec["path"]).chmod(spec["mode"])
    else:  # pragma: no cover - a typo in a case
        raise ValueError(f"unknown recipe {what!r}")


def land_case(name: str, root: Path) -> LandedCase:
    """Copy the case under ``root``, make what its recipe says, and land every pillar for 2026-03-02."""
    expected = expected_of(name)
    settings = Settings(data_dir=root / "data", **expected.get("settings", {}))
    settings.ensure_dirs()
    for entry in (CORPUS / name).iterdir():
        if entry.is_dir():
            target = settings.landing_dir if entry.name == "landing" else settings.root / entry.name
            shutil.copytree(entry, target, dirs_exist_ok=True)
    for recipe in expected.get("make", []):
        _make(settings.landing_dir, recipe)
    case = LandedCase(name, expected, settings)
    for pillar in PILLARS:
        landing = land_pillar(settings, pillar, DAY, run_id=f"bad-{name}")
        case.results += landing
        case.notices |= {notice.path: notice.notice for notice in landing.notices}
    return case


_LANDED: dict[str, LandedCase] = {}


def landed(name: str, factory: pytest.TempPathFactory) -> LandedCase:
    """The case landed once per test session (the landing tests and the contract agreement test share it)."""
    if name not in _LANDED:
        _LANDED[name] = land_case(name, factory.mktemp(name))
    return _LANDED[name]
