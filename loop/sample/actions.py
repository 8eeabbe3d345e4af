"""The actions the loop took, as the sample world sees them.

Each daily cycle records what it did in the warehouse: ``ops.actions`` (one row per action: an audience export or
a product signal) and ``ops.action_members`` (the customers of an audience action, in the ``treatment`` arm —
exported, contacted — or the ``holdout`` arm — held out to measure what the action changed). The generator
(:func:`loop.sample.generate`) takes them as an :class:`Actions` value and makes the world react; see the
generator's module docstring for the reactions.

An :class:`Actions` value is normalized (actions sorted by cycle date and id, members sorted and deduplicated), so
the same recorded actions give the same value, whatever order they were read in.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date

from loop.settings import Settings

#: Audience ids the world reacts to (others are carried but have no effect).
AUDIENCES = ("service_recovery", "retargeting_holdback", "advocates", "lookalike_seed")
KINDS = ("audience_export", "signal")
ARMS = ("treatment", "holdout")

_CUSTOMER_ID = re.compile(r"^cus_([0-9]{1,12})$")


@dataclass(frozen=True)
class Action:
    """One recorded action: what was done (``kind``, ``subject``), on which cycle date, and to whom."""

    action_id: str
    kind: str  # audience_export | signal
    subject: str  # an audience id or a signal id
    cycle_date: date
    product_area: str | None = None  # signals: the product area
    symptom: str | None = None  # signals: what is wrong there
    treatment: tuple[str, ...] = ()  # customer ids exported / contacted
    holdout: tuple[str, ...] = ()  # customer ids held out
    as_of: date | None = None  # the date the marts it was computed from are complete up to

    def __post_init__(self) -> None:
        object.__setattr__(self, "treatment", tuple(sorted(set(self.treatment))))
        object.__setattr__(self, "holdout", tuple(sorted(set(self.holdout))))

    @property
    def day(self) -> date:
        """The day the action was taken: its cycle date, or its as-of date if later (a rerun of an old cycle
        computes from newer marts, and the world cannot react to an action before the data behind it existed)."""
        return max(self.cycle_date, self.as_of) if self.as_of is not None else self.cycle_date


@dataclass(frozen=True)
class Actions:
    """The recorded actions, normalized: sorted by (cycle date, action id); empty when nothing was recorded."""

    items: tuple[Action, ...] = field(default=())

    def __post_init__(self) -> None:
        object.__setattr__(self, "items", tuple(sorted(self.items, key=lambda a: (a.cycle_date, a.action_id))))

    def __iter__(self) -> Iterator[Action]:
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)

    def __bool__(self) -> bool:
        return bool(self.items)

    def before(self, day: date) -> Actions:
        """The actions taken before ``day`` (the only ones that can shape ``day``)."""
        return Actions(tuple(a for a in self.items if a.day < day))

    def on(self, day: date) -> Actions:
        """The actions of the cycle of ``day``."""
        return Actions(tuple(a for a in self.items if a.cycle_date == day))

    @classmethod
    def from_rows(
        cls,
        actions: Iterable[tuple[str, str, str, date, date | None, str | None, str | None]],
        members: Iterable[tuple[str, str, str]] = (),
    ) -> Actions:
        """Actions from rows of ``(action_id, kind, subject, cycle_date, as_of, product_area, symptom)`` and members
        from rows of ``(action_id, customer_id, arm)``; members of unknown actions or arms are ignored."""
        arms: dict[str, dict[str, list[str]]] = {}
        for action_id, customer_id, arm in members:
            if arm in ARMS and customer_id:
                arms.setdefault(action_id, {}).setdefault(arm, []).append(customer_id)
        items = []
        for action_id, kind, subject, cycle_date, as_of, product_area, symptom in actions:
            got = arms.get(action_id, {})
            items.append(
                Action(
                    action_id,
                    kind,
                    subject,
                    cycle_date,
                    product_area,
                    symptom,
                    tuple(got.get("treatment", ())),
                    tuple(got.get("holdout", ())),
                    as_of,
                )
            )
        return cls(tuple(items))


def customer_index(customer_id: str) -> int | None:
    """The generator's index of a ``cus_000123`` id (122), or None for an id the generator does not make."""
    match = _CUSTOMER_ID.match(customer_id)
    if match is None or int(match.group(1)) < 1:
        return None
    return int(match.group(1)) - 1


def read_actions(settings: Settings) -> Actions:
    """The actions recorded in the warehouse (``ops.actions`` and ``ops.action_members``), read-only.

    Empty when there is no warehouse yet or it has no ``ops.actions`` table (no cycle has recorded an action).
    """
    if not settings.warehouse_path.exists():
        return Actions()
    import duckdb

    from loop.errors import LoopError
    from loop.warehouse import connect

    with connect(settings, write=False) as con:
        tables = {
            name
            for (name,) in con.execute(
                "SELECT table_name FROM information_schema.tables "
                "WHERE table_schema = 'ops' AND table_name IN ('actions', 'action_members')"
            ).fetchall()
        }
        if "actions" not in tables:
            return Actions()
        try:
            rows = con.execute(
                "SELECT action_id, kind, subject, cycle_date, as_of, product_area, symptom FROM ops.actions "
                "WHERE action_id IS NOT NULL AND cycle_date IS NOT NULL ORDER BY cycle_date, action_id"
            ).fetchall()
            members = (
                con.execute(
                    "SELECT action_id, customer_id, arm FROM ops.action_members "
                    "WHERE action_id IS NOT NULL AND customer_id IS NOT NULL ORDER BY action_id, arm, customer_id"
                ).fetchall()
                if "action_members" in tables
                else []
            )
        except duckdb.Error as error:
            raise LoopError(f"The recorded actions (ops.actions) could not be read: {error}") from error
    return Actions.from_rows(rows, members)
