"""The landing folder's layout: ``<pillar>/<source>/date=YYYY-MM-DD/<file>``, and everything that does not fit it.

Anything that landing would otherwise pass over in silence is reported as a notice (recorded in
``ops.layout_notices``, shown by ``loop run`` and ``loop status``): a folder for an unknown pillar or source, a date
folder that is not a valid ``date=YYYY-MM-DD``, a file or folder where none belongs, a symbolic link. Names that
start with ``_`` or ``.`` are tools' own (``_generator/``, ``.DS_Store``) and are left alone.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from loop.contracts import SOURCES, Source, sources_of
from loop.settings import PILLARS

PARTITION = re.compile(r"date=([0-9]{4}-[0-9]{2}-[0-9]{2})")


@dataclass(frozen=True)
class LayoutNotice:
    """Something in the landing folder that is not landed, and why."""

    path: str
    """Relative to the landing folder."""
    notice: str


def _visible(folder: Path) -> list[Path]:
    try:
        return sorted(p for p in folder.iterdir() if not p.name.startswith(("_", ".")))
    except OSError:
        return []


def partition_date(name: str) -> date | None:
    """The date of a ``date=YYYY-MM-DD`` folder name, None if the name is not one (or not a real date)."""
    match = PARTITION.fullmatch(name)
    if not match:
        return None
    try:
        return date.fromisoformat(match.group(1))
    except ValueError:
        return None


def survey(landing_dir: Path, pillar: str | None = None) -> list[LayoutNotice]:
    """Notices for the whole landing folder (``pillar=None``) or for one pillar's folder and the top level."""
    notices: list[LayoutNotice] = []

    def note(path: Path, notice: str) -> None:
        notices.append(LayoutNotice(path.relative_to(landing_dir).as_posix(), notice))

    if not landing_dir.is_dir():
        return notices
    for top in _visible(landing_dir):
        if top.is_symlink():
            note(top, "a symbolic link; loop does not follow links in the landing folder")
        elif not top.is_dir():
            note(top, "a file at the top of the landing folder; files go in <pillar>/<source>/date=YYYY-MM-DD/")
        elif top.name not in PILLARS:
            note(top, f"an unknown pillar folder; the pillars are {', '.join(PILLARS)}")
        elif pillar is None or top.name == pillar:
            notices += _survey_pillar(landing_dir, top, sources_of(top.name))
    return notices


def _survey_pillar(landing_dir: Path, folder: Path, sources: tuple[Source, ...]) -> list[LayoutNotice]:
    notices: list[LayoutNotice] = []
    names = {s.name for s in sources}

    def note(path: Path, notice: str) -> None:
        notices.append(LayoutNotice(path.relative_to(landing_dir).as_posix(), notice))

    for entry in _visible(folder):
        if entry.is_symlink():
            note(entry, "a symbolic link; loop does not follow links in the landing folder")
        elif not entry.is_dir():
            note(entry, "a file outside a source folder; files go in <source>/date=YYYY-MM-DD/")
        elif entry.name not in names:
            other = [s.pillar for s in SOURCES if s.name == entry.name]
            where = f" ({entry.name} belongs to {other[0]})" if other else ""
            note(entry, f"an unknown source folder{where}; {folder.name}'s sources are {', '.join(sorted(names))}")
        else:
            for part in _visible(entry):
                if part.is_symlink():
                    note(part, "a symbolic link; loop does not follow links in the landing folder")
                elif not part.is_dir():
                    note(part, "a file outside a date= folder; files go in date=YYYY-MM-DD/ folders")
                elif partition_date(part.name) is None:
                    note(part, "not a valid date=YYYY-MM-DD folder; its files are not landed")
                else:
                    for inner in _visible(part):
                        if inner.is_dir() and not inner.is_symlink():
                            note(inner, "a folder inside a date= folder; only the files directly in it land")
    return notices


def partition_files(landing_dir: Path, source: Source, day: date) -> list[Path]:
    """The entries of one source's date folder that landing considers, in name order (folders excepted)."""
    folder = landing_dir / source.pillar / source.name / f"date={day.isoformat()}"
    # No link anywhere below the landing folder is followed (survey() reports each one).
    if not folder.is_dir() or any(part.is_symlink() for part in (folder, folder.parent, folder.parent.parent)):
        return []
    return [p for p in _visible(folder) if p.is_symlink() or not p.is_dir()]


def landed_dates(landing_dir: Path) -> list[date]:
    """Every valid partition date under the landing folder, sorted."""
    found: set[date] = set()
    for source in SOURCES:
        parents = (landing_dir / source.pillar, landing_dir / source.pillar / source.name)
        if any(parent.is_symlink() for parent in parents):
            continue
        for part in _visible(parents[1]):
            day = partition_date(part.name)
            if day is not None and part.is_dir() and not part.is_symlink():
                found.add(day)
    return sorted(found)
