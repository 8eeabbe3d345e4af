"""Export shapes: recognise a file's shape from its header and map its rows into the contract's fields.

Ad platforms, survey tools, help desks and app stores export in their own CSV layouts: a Google Ads campaign report
(two preamble lines, ``Cost`` written ``1,234.56``), a Meta Ads Manager export, a Delighted NPS export, a Typeform
CSAT download, a Zendesk ticket export, a Google Play reviews report, loop's generic CSVs. Each source whose contract
has ``export_shapes=True`` has its shapes in a TOML file next to this module (``ad_exports.toml``,
``feedback_exports.toml``), plus the user's file (``LOOP_AD_EXPORT_SHAPES``, ``LOOP_FEEDBACK_EXPORT_SHAPES``)
adding or replacing entries. One code path serves them all (:mod:`.base`): an entry says how to recognise the file,
where its header is, which column holds each contract field (with a value map, an extracted part, a prefix, minutes
after another timestamp), the values constant for the export, the date, timestamp and number formats, which rows to
skip. A source's shape class adds only its own step (:mod:`.ad`: currency and campaign; :mod:`.feedback`: none). A
new tool is a new entry, never new code.

Mapping happens before landing's checks and changes no guarantee: the quarantine keeps each record's raw values (the
file's own header names and texts); header names never become SQL text; a row whose date, timestamp, number, mapped
value or currency the shape cannot read is quarantined with the reason (kind ``contract``); a row whose campaign name
the catalog does not know is held (kind ``unknown_reference``) and mapped again, with the catalog of the day, when it
is released.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from loop.errors import LoopError
from loop.landing.exports import base
from loop.landing.exports.ad import AdShape
from loop.landing.exports.base import HEAD_RECORDS, ExportShape, HeaderMapping, Mapped
from loop.landing.exports.feedback import FeedbackShape
from loop.settings import Settings

__all__ = [
    "DEFAULT_SHAPES",
    "FAMILIES",
    "HEAD_RECORDS",
    "ExportShape",
    "Family",
    "HeaderMapping",
    "Mapped",
    "ShapeError",
    "Shapes",
    "load_shapes",
    "recognise",
]

_NAME = r"^[a-z][a-z0-9_]{0,62}$"


class ShapeError(LoopError):
    """The shapes config is wrong: the message names the file, the entry and the key."""


@dataclass(frozen=True)
class Family:
    """The export shapes of one source: their class, loop's file of them and the setting naming the user's file."""

    source: str
    shape: type[ExportShape]
    shipped: str
    setting: str
    """The :class:`~loop.settings.Settings` field naming the user's shapes file."""

    @property
    def env(self) -> str:
        return f"LOOP_{self.setting.upper()}"


#: Source name -> its export shapes.
FAMILIES: dict[str, Family] = {
    "ad_performance": Family("ad_performance", AdShape, "ad_exports.toml", "ad_export_shapes"),
    "feedback": Family("feedback", FeedbackShape, "feedback_exports.toml", "feedback_export_shapes"),
}
#: The ad shapes loop ships (a package resource); kept for callers of the first version.
DEFAULT_SHAPES = FAMILIES["ad_performance"].shipped


class Shapes(dict[str, ExportShape]):
    """The enabled shapes of one source, by entry name."""

    def __init__(self, family: Family, shapes: dict[str, ExportShape]) -> None:
        super().__init__(shapes)
        self.family = family

    def lookups(self, con: Any) -> dict[str, list[str]]:
        """What the shapes' own step reads from the warehouse (ad shapes: the campaign catalog's names)."""
        return self.family.shape.lookups(con)


def _where(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc if str(p) not in base.union_tags()]
    return f"key {'.'.join(parts)!r}" if parts else ""


def _parse(text: str, where: str, family: Family) -> dict[str, ExportShape]:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ShapeError(f"{where} is not valid TOML: {error}.") from None
    problems: list[str] = []
    extra = [key for key in data if key != "shapes"]
    if extra:
        problems.append(f"key {extra[0]!r}: Extra inputs are not permitted (entries are [shapes.<name>] tables)")
    entries = data.get("shapes", {})
    if not isinstance(entries, dict):
        entries = {}
        problems.append("key 'shapes': must be a table of [shapes.<name>] entries")
    shapes: dict[str, ExportShape] = {}
    for name, entry in entries.items():
        if not re.fullmatch(_NAME, name):
            problems.append(f"entry name {name!r} must be lower case letters, digits and _ (it names the shape)")
            continue
        try:
            shape = family.shape.model_validate(entry)
        except ValidationError as error:
            for problem in error.errors():
                at = ", ".join(p for p in (f"entry {name!r}", _where(problem["loc"])) if p)
                problems.append(f"{at}: {str(problem['msg']).removeprefix('Value error, ')}")
            continue
        shapes[name] = shape.model_copy(update={"name": name})
    if problems:
        listed = "; ".join(dict.fromkeys(problems))
        raise ShapeError(f"{where} has {len(problems)} problem(s): {listed}.")
    return shapes


def load_shapes(settings: Settings, source: str = "ad_performance") -> Shapes:
    """The enabled shapes of ``source``: loop's own, then the user's file (the family's setting) adding or replacing
    entries."""
    family = FAMILIES[source]
    text = resources.files(__package__).joinpath(family.shipped).read_text(encoding="utf-8")
    shapes = _parse(text, f"loop's {family.shipped}", family)
    user_file = getattr(settings, family.setting)
    if user_file is not None:
        path = Path(user_file).expanduser()
        try:
            user = path.read_text(encoding="utf-8")
        except OSError as error:
            raise ShapeError(f"{family.env} {path} cannot be read: {error.strerror or error}.") from None
        shapes |= _parse(user, f"{family.env} {path}", family)
    return Shapes(family, {name: shape for name, shape in shapes.items() if shape.enabled})


def recognise(shapes: Shapes, head: list[list[str]]) -> tuple[ExportShape, int] | str:
    """The shape of a file from its first non-blank records (``head``) and the index of its header in ``head``; or
    why no single shape fits."""
    return base.recognise(shapes, head, shapes.family.env)


def catalog_names(con: Any) -> dict[str, list[str]]:
    """Campaign name -> the campaign ids carrying it in any landed catalog snapshot."""
    return AdShape.lookups(con)
