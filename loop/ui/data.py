"""What every page of `loop ui` reads: the settings, the published tables (through the read-only connection only)
and the header saying which cycle and data interval a page shows.

The connection is :func:`loop.publish.reader.open_reader`: an in-memory DuckDB whose views read the current
published Parquet files (``campaign_scorecard`` and, qualified, ``cycle.campaign_scorecard``), locked down. It is
opened once per set of current publications (the versions in the pillars' manifests, read on every rerun), so a new
publication is picked up on the next rerun of a page; query results are cached under the same versions.
Pages pass values as parameters (``$name`` with a dict, ``?`` with a list): user input never becomes SQL text.
"""

from __future__ import annotations

import functools
import threading
from typing import Any

import duckdb
import pandas
import streamlit as st

from loop import publish
from loop.errors import LoopError
from loop.publish.reader import open_reader
from loop.settings import PUBLISHED_PILLARS, Settings

#: Query results kept per set of publications (each page runs a handful of small queries).
CACHED_RESULTS = 512


@functools.cache
def settings() -> Settings:
    """loop's settings, from the ``LOOP_*`` environment the server passed on (read once per process)."""
    return Settings()


def publications() -> dict[str, publish.Publication]:
    """The current publication of each published pillar (pillars never published are left out)."""
    found = {}
    for pillar in PUBLISHED_PILLARS:
        current = publish.current(settings(), pillar)
        if current is not None:
            found[pillar] = current
    return found


def versions() -> tuple[tuple[str, str], ...]:
    """(pillar, version) of every current publication: the key of the connection and of cached results."""
    return tuple((pillar, p.version) for pillar, p in publications().items())


@st.cache_resource(max_entries=2, show_spinner=False)
def _connection(key: tuple[tuple[str, str], ...]) -> tuple[duckdb.DuckDBPyConnection, threading.Lock]:
    """The read-only connection on the publications ``key`` names (one per set of versions)."""
    return open_reader(settings()), threading.Lock()


@st.cache_data(max_entries=CACHED_RESULTS, show_spinner=False)
def _query(key: tuple[tuple[str, str], ...], sql: str, params: Any) -> pandas.DataFrame:
    con, lock = _connection(key)
    # One query at a time on the connection: its views read files named in connection-local variables, so a
    # cursor (a connection of its own) would not see them.
    with lock:
        return con.execute(sql, params).df()


def query(sql: str, params: dict[str, Any] | list[Any] | None = None) -> pandas.DataFrame:
    """Rows of one SELECT on the current published tables, as a data frame (values bound as parameters)."""
    return _query(versions(), sql, params)


def _interval(table: dict[str, Any]) -> str:
    interval = table.get("data_interval") or {}
    start, end = interval.get("start"), interval.get("end")
    if not start and not end:
        return "no rows"
    start, end = str(start)[:10], str(end)[:10]
    return start if start == end else f"{start} to {end}"


def header_lines(*tables: str) -> list[str]:
    """One line per pillar of ``tables`` (all published pillars when none is named): cycle, as-of date, version
    and each table's data interval, as the manifests say."""
    current = publications()
    if not current:
        raise LoopError("Nothing is published yet.")
    wanted: dict[str, list[str]] = {}
    for name in tables:
        pillar, _, table = name.rpartition(".")
        owners = [pillar] if pillar else [p for p, pub in current.items() if table in pub.tables]
        for owner in owners:
            if owner in current and table in current[owner].tables:
                wanted.setdefault(owner, []).append(table)
    if not tables:
        wanted = {pillar: [] for pillar in current}
    lines = []
    for pillar, names in wanted.items():
        pub = current[pillar]
        line = f"**{pillar}**: cycle {pub.cycle_date}, data complete to {pub.as_of}, version `{pub.version}`"
        if names:
            line += " · " + ", ".join(f"{t} {_interval(pub.tables[t])}" for t in names)
        lines.append(line)
    return lines


def header(*tables: str) -> None:
    """At the top of a page: which cycle and data interval it shows (in the container keyed ``page-header``).

    Stops the page with a message saying how to publish when nothing is published yet.
    """
    with st.container(key="page-header"):
        try:
            lines = header_lines(*tables)
        except LoopError:
            st.warning(
                f"Nothing is published under {settings().published_dir} yet. Run `loop run` (or `make demo` for "
                "the sample world), then reload this page."
            )
            st.stop()
        st.caption("  \n".join(lines))


def choose_section(sections: dict[str, str], key: str) -> str:
    """One section of a page at a time (drawing them all at once takes over 2 s to load): a horizontal choice
    labelled "Show", kept in the address (``?section=<name>``) so each section can be linked; the first by default
    and for an unknown name."""
    names = list(sections)
    asked = st.query_params.get("section", names[0])
    section = st.radio(
        "Show",
        names,
        index=names.index(asked) if asked in sections else 0,
        format_func=sections.__getitem__,
        horizontal=True,
        key=key,
    )
    st.query_params["section"] = section
    return str(section)


def _cell(value: Any) -> str:
    if value is None or (not isinstance(value, (list, tuple, dict)) and bool(pandas.isna(value))):
        return ""
    if isinstance(value, pandas.Timestamp):
        return (
            value.strftime("%Y-%m-%d %H:%M")
            if (value.hour, value.minute, value.second) != (0, 0, 0)
            else f"{value:%Y-%m-%d}"
        )
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else f"{value:.4g}"
    return str(value)


#: What Markdown could read as syntax (CommonMark lets a backslash escape any ASCII punctuation mark).
MARKDOWN_PUNCTUATION = frozenset("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~")


def markdown_text(value: Any) -> str:
    """``value`` as Markdown text that reads as itself (every ASCII punctuation mark escaped; no line breaks)."""
    text = " ".join(str(value).split())
    return "".join(f"\\{char}" if char in MARKDOWN_PUNCTUATION else char for char in text)


def markdown_table(frame: pandas.DataFrame, *, index: bool = False, right: tuple[str, ...] | None = None) -> str:
    """``frame`` (its index first with ``index``) as a Markdown table; the ``right`` columns (by default the numeric
    ones) aligned right.

    A Markdown table is drawn by code every page already loads, where ``st.table`` and ``st.dataframe`` make the
    browser load their own (about 0.8 MB of JavaScript: 0.2-0.3 s of a page's load, measured by bench_ui).
    """
    if right is None:
        right = tuple(
            str(c)
            for c in frame.columns
            if pandas.api.types.is_numeric_dtype(frame[c]) and not pandas.api.types.is_bool_dtype(frame[c])
        )
    names = [str(frame.index.name or ""), *map(str, frame.columns)] if index else [str(c) for c in frame.columns]
    align = (["left"] if index else []) + ["right" if str(c) in right else "left" for c in frame.columns]
    lines = [
        "| " + " | ".join(markdown_text(name) for name in names) + " |",
        "| " + " | ".join("--:" if side == "right" else ":--" for side in align) + " |",
    ]
    for label, row in zip(frame.index, frame.itertuples(index=False), strict=True):
        cells = (label, *row) if index else tuple(row)
        lines.append("| " + " | ".join(markdown_text(_cell(value)) for value in cells) + " |")
    return "\n".join(lines)


def show_table(frame: pandas.DataFrame, key: str, *, index: bool = False, right: tuple[str, ...] | None = None) -> None:
    """A small table as static text (every value readable on the page), in the container keyed ``key``."""
    with st.container(key=key):
        st.markdown(markdown_table(frame, index=index, right=right))
