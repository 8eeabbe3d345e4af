"""Record checks: from the staged ``_incoming`` to ``_checked``, every record with its typed values and, if it must
not land, its reason and the kind of that reason.

Checks, in order (the first reason that applies is kept):

1. the record could be read (``malformed``: not JSON, a broken CSV row, not UTF-8, too large) and its file has the
   required columns (``missing_column``);
2. the contract: types in their exact text form, required fields, allowed values, ranges (``contract``);
3. rules across the record's fields (``rule``);
4. the event time is within the lookback window of the landing date (``late``) and no timestamp is after it
   (``future``);
5. the natural key is unique (``duplicate``): whatever the order files land in, the earliest copy that passed
   checks 1-4 (by partition, then file, then position) is kept;
6. referenced campaigns are in a landed catalog (``unknown_reference``; such records are held and released when a
   catalog that names the campaign lands).
"""

from __future__ import annotations

import duckdb

from loop.contracts import Source
from loop.landing.compile import ColumnPlan, Compiler, quote_ident
from loop.settings import Settings

#: Reason kinds a replay may release without the file changing (the cause lies outside the record).
RETRYABLE_KINDS = ("duplicate", "unknown_reference")
ORDER = "{'d': _partition_date, 'f': _source_file, 'r': _row_number}"


def check_contract(con: duckdb.DuckDBPyConnection, plans: tuple[ColumnPlan, ...]) -> None:
    """``_checked`` from ``_incoming``: typed values, and the reason of records that fail reading or the contract."""
    compiler = Compiler()
    nested, helpers, reasons = compiler.contract_stages(plans)
    typed = compiler.typed_columns(plans)
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE _checked AS
        WITH flat AS (
            SELECT *{"".join(", " + item for item in nested)} FROM _incoming
        ), helped AS (
            SELECT *{"".join(", " + item for item in helpers)} FROM flat
        ), judged AS (
            SELECT _row_number, _source_file, _partition_date, _line_reason,
                   CASE WHEN _line_reason IS NULL THEN {reasons} END AS _contract_reason,
                   {typed}
            FROM helped
        )
        SELECT _row_number, _source_file, _partition_date,
               coalesce(_line_reason, _contract_reason) AS _reason,
               CASE
                   WHEN starts_with(_line_reason, 'the file has no ') THEN 'missing_column'
                   WHEN _line_reason IS NOT NULL THEN 'malformed'
                   WHEN _contract_reason IS NOT NULL THEN 'contract'
               END AS _reason_kind,
               NULL::VARCHAR AS _duplicate_of,
               * EXCLUDE (_row_number, _source_file, _partition_date, _line_reason, _contract_reason)
        FROM judged
        """,
        compiler.params,
    )


def check_records(
    con: duckdb.DuckDBPyConnection, source: Source, plans: tuple[ColumnPlan, ...], settings: Settings
) -> None:
    """Rules, the time window, duplicates and references, for the records that passed the contract.

    The record's own checks (rules, time window) come first, so that only a copy that could land counts as the
    first copy of its key: a later, valid copy is never quarantined as a duplicate of a rejected one.
    """
    compiler = Compiler()
    own: list[tuple[str, str, str | None]] = []  # (reason SQL, kind, duplicate-of SQL)
    for reason in compiler.rule_reasons(source):
        own.append((reason, "rule", None))
    own += _time_window(compiler, source, plans, settings)
    _evaluate(con, own, [], [], compiler.params)

    compiler = Compiler()
    cross: list[tuple[str, str, str | None]] = []
    ctes: list[str] = []
    joins: list[str] = []
    if source.key:
        keys = ", ".join(quote_ident(k) for k in source.key)
        label = " + ".join(source.key)
        key_text = " || '/' || ".join(f"{quote_ident(k)}::VARCHAR" for k in source.key)
        ctes.append(
            f"""_firsts AS (
                SELECT {keys}, min({ORDER}) AS _first FROM _checked WHERE _reason IS NULL GROUP BY ALL
            )"""
        )
        ctes.append(
            f"""_landed_keys AS (
                SELECT {keys}, min({ORDER}) AS _landed FROM {source.table}
                WHERE ({keys}) IN (SELECT ({keys}) FROM _checked WHERE _reason IS NULL)
                GROUP BY ALL
            )"""
        )
        joins.append(f"LEFT JOIN _firsts USING ({keys})")
        joins.append(f"LEFT JOIN _landed_keys USING ({keys})")
        duplicate = compiler.param(f"duplicate {label} ")
        cross.append(
            (
                f"CASE WHEN _landed IS NOT NULL AND _landed < {ORDER} THEN {duplicate} || {key_text} "
                f"|| {compiler.param(', already landed from ')} || _landed.f END",
                "duplicate",
                "_landed.f",
            )
        )
        cross.append(
            (
                f"CASE WHEN _first < {ORDER} THEN {duplicate} || {key_text} || CASE WHEN _first.f = _source_file "
                f"THEN {compiler.param(' (first seen at record ')} || _first.r || {compiler.param(' of this file)')} "
                f"ELSE {compiler.param(' (first seen in ')} || _first.f || {compiler.param(', record ')} || _first.r "
                f"|| ')' END END",
                "duplicate",
                "_first.f",
            )
        )
    if source.references_campaign:
        ctes.append("_catalog AS (SELECT DISTINCT campaign_id AS _known_campaign FROM raw.campaigns)")
        joins.append("LEFT JOIN _catalog ON _catalog._known_campaign = _checked.campaign_id")
        cross.append(
            (
                f"CASE WHEN _known_campaign IS NULL THEN {compiler.param('unknown campaign_id ')} || campaign_id "
                f"|| {compiler.param(': not in the campaign catalog (held until a catalog that names it lands)')} END",
                "unknown_reference",
                None,
            )
        )
    _evaluate(con, cross, ctes, joins, compiler.params)


def _time_window(
    compiler: Compiler, source: Source, plans: tuple[ColumnPlan, ...], settings: Settings
) -> list[tuple[str, str, str | None]]:
    """Late records (event time before the lookback window) and timestamps after the landing date."""
    checks: list[tuple[str, str, str | None]] = []
    for plan in plans:
        if plan.sql_type != "TIMESTAMPTZ":
            continue
        column = quote_ident(plan.name)
        shown = f"strftime({column}, '%Y-%m-%dT%H:%M:%SZ')"
        day = "strftime(_partition_date, '%Y-%m-%d')"
        if plan.name == source.event_time:
            oldest = f"_partition_date::TIMESTAMPTZ - to_days({compiler.param(settings.lookback_days)})"
            checks.append(
                (
                    f"CASE WHEN {column} < {oldest} THEN {compiler.param(f'late event: {plan.key} ')} || {shown} "
                    f"|| {compiler.param(f' is more than {settings.lookback_days} days before its landing date ')} "
                    f"|| {day} END",
                    "late",
                    None,
                )
            )
        hours = compiler.param(settings.future_tolerance_hours)
        newest = f"_partition_date::TIMESTAMPTZ + INTERVAL 1 DAY + to_hours({hours})"
        what = "future event" if plan.name == source.event_time else "future timestamp"
        checks.append(
            (
                f"CASE WHEN {column} >= {newest} THEN {compiler.param(f'{what}: {plan.key} ')} || {shown} "
                f"|| {compiler.param(' is after its landing date ')} || {day} END",
                "future",
                None,
            )
        )
    return checks


def _evaluate(
    con: duckdb.DuckDBPyConnection,
    checks: list[tuple[str, str, str | None]],
    ctes: list[str],
    joins: list[str],
    params: dict[str, object],
) -> None:
    """Rewrite ``_checked`` with the first reason of ``checks`` for each record that has none yet."""
    if not checks:
        return
    columns = [f"{sql} AS _r{i}" for i, (sql, _, _) in enumerate(checks)]
    columns += [f"{d} AS _d{i}" for i, (_, _, d) in enumerate(checks) if d is not None]
    first_reason = "coalesce(" + ", ".join(f"_r{i}" for i in range(len(checks))) + ")"
    kind = "CASE " + " ".join(f"WHEN _r{i} IS NOT NULL THEN '{k}'" for i, (_, k, _) in enumerate(checks)) + " END"
    with_duplicates = [i for i, (_, _, d) in enumerate(checks) if d is not None]
    duplicate_of = (
        "CASE " + " ".join(f"WHEN _r{i} IS NOT NULL THEN _d{i}" for i in with_duplicates) + " END"
        if with_duplicates
        else "NULL"
    )
    helper = [f"_r{i}" for i in range(len(checks))] + [f"_d{i}" for i in with_duplicates]
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE _checked AS
        WITH {", ".join(ctes) + "," if ctes else ""} _evaluated AS (
            SELECT _checked.*, {", ".join(columns)} FROM _checked {" ".join(joins)}
        )
        SELECT * EXCLUDE (_reason, _reason_kind, _duplicate_of, {", ".join(helper)}),
               CASE WHEN _reason IS NULL THEN {first_reason} ELSE _reason END AS _reason,
               CASE WHEN _reason IS NULL THEN {kind} ELSE _reason_kind END AS _reason_kind,
               CASE WHEN _reason IS NULL THEN {duplicate_of} ELSE _duplicate_of END AS _duplicate_of
        FROM _evaluated
        """,
        params,
    )


def demote_later_copies(con: duckdb.DuckDBPyConnection, source: Source) -> str | None:
    """Keys where an incoming record is earlier than the copy already in ``raw``: the SQL selecting those raw rows.

    Returns a query over ``raw.<source>`` (with ``_winner_file`` and ``_winner_row``) or None for keyless sources.
    """
    if not source.key:
        return None
    keys = ", ".join(quote_ident(k) for k in source.key)
    return f"""
        SELECT r.*, w._first.f AS _winner_file, w._first.r AS _winner_row
        FROM {source.table} AS r
        JOIN (SELECT {keys}, min({ORDER}) AS _first FROM _checked WHERE _reason IS NULL GROUP BY ALL) AS w
            USING ({keys})
        WHERE {{'d': r._partition_date, 'f': r._source_file, 'r': r._row_number}} > w._first
    """
