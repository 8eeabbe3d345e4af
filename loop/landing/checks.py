"""Record checks: from the staged ``_incoming`` to ``_checked``, every record with its typed values and, if it must
not land, its reason and the kind of that reason.

Checks, in order (the first reason that applies is kept):

1. the record could be read (``malformed``: not JSON, a broken CSV row, not UTF-8, too large) and its file has the
   required columns (``missing_column``);
2. the contract: types in their exact text form, required fields, allowed values, ranges (``contract``);
3. rules across the record's fields (``rule``);
4. the event time is within the lookback window of the landing date (``late``) and no timestamp is after it
   (``future``); the landing date is a business day in ``LOOP_TIMEZONE`` (a day of 23 or 25 hours when the clocks
   change);
5. the natural key is unique (``duplicate``): whatever the order files land in, the earliest copy that passed
   checks 1-4 (by partition, then file, then position) is kept;
6. referenced campaigns are in a landed catalog (``unknown_reference``; such records are held and released when a
   catalog that names the campaign lands).

Checks 1-4 concern one record and run in one pass that writes ``_checked``; every helper value, and each rule and
time-window condition, is computed once per record in its own step, and the reason text is built only for the
records that have one. Checks 5-6 compare records with each other and with what landed before: they read the key
columns only and mark the few records they reject in place.
"""

from __future__ import annotations

import duckdb

from loop.contracts import Source
from loop.landing import readers
from loop.landing.compile import ColumnPlan, Compiler, quote_ident
from loop.settings import Settings

#: Reason kinds a replay may release without the file changing (the cause lies outside the record).
RETRYABLE_KINDS = ("duplicate", "unknown_reference")
ORDER = "{'d': _partition_date, 'f': _source_file, 'r': _row_number}"

#: One check: (condition, reason text, kind, duplicate-of). The reason applies when the condition is true; its
#: text is only evaluated then.
Check = tuple[str, str, str, str | None]


def check_contract(con: duckdb.DuckDBPyConnection, plans: tuple[ColumnPlan, ...]) -> None:
    """``_checked`` from the ``_incoming`` table: typed values, and the reason of records that fail reading or the
    contract."""
    _check_each(con, plans, Compiler(), [], readers.Staged())


def check_records(
    con: duckdb.DuckDBPyConnection,
    source: Source,
    plans: tuple[ColumnPlan, ...],
    settings: Settings,
    staged: readers.Staged,
) -> None:
    """Every check, from the staged records to ``_checked``: reading, the contract, rules and the time window in one
    pass, then duplicates and references.

    The record's own checks (rules, time window) come first, so that only a copy that could land counts as the
    first copy of its key: a later, valid copy is never quarantined as a duplicate of a rejected one.
    """
    compiler = Compiler(params=dict(staged.params))
    own: list[Check] = [
        (f"NOT coalesce({rule}, false)", message, "rule", None) for rule, message in compiler.rules(source)
    ]
    own += _time_window(compiler, source, plans, settings)
    _check_each(con, plans, compiler, own, staged)
    if "_suspect" in staged.carry:
        readers.judge_suspects(con, staged)
    _check_across(con, source)


def _check_each(
    con: duckdb.DuckDBPyConnection,
    plans: tuple[ColumnPlan, ...],
    compiler: Compiler,
    own: list[Check],
    staged: readers.Staged,
) -> None:
    """``_checked`` in one pass over the staged records: reading and contract reasons, then the record's ``own``
    checks (rules, time window) for the records that passed the contract."""
    layers, reasons = compiler.contract_stages(plans)
    typed = compiler.typed_columns(plans)
    passed = "_contract_reason IS NULL AND _line_reason IS NULL"
    # Each own check is evaluated once per record (in its own column), and only for the records that passed the
    # contract: the reason and its kind then read those columns.
    flags = [f"CASE WHEN {passed} THEN {condition} END AS _own{i}" for i, (condition, _, _, _) in enumerate(own)]
    if own:
        first = "CASE " + " ".join(f"WHEN _own{i} THEN {text}" for i, (_, text, _, _) in enumerate(own)) + " END"
        kind = "CASE " + " ".join(f"WHEN _own{i} THEN '{k}'" for i, (_, _, k, _) in enumerate(own)) + " END"
        own_reason, own_kind = first, kind
    else:
        own_reason = own_kind = "NULL::VARCHAR"
    stages = "".join(
        f"), _layer{i} AS (SELECT *, {', '.join(layer)} FROM {'_staged' if i == 0 else f'_layer{i - 1}'}"
        for i, layer in enumerate(layers)
    )
    last = f"_layer{len(layers) - 1}" if layers else "_staged"
    own_columns = ", ".join(f"_own{i}" for i in range(len(own)))
    carry = "".join(f"{quote_ident(column)}, " for column in staged.carry)
    # The kind of a line reason that is not a reading problem (an export shape's mapping), when the staging has one.
    line_kind = "_line_kind, " if staged.line_kinds else "NULL::VARCHAR AS _line_kind, "
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE _checked AS
        WITH _staged AS (
            {staged.query}
        {stages}), judged AS (
            SELECT _row_number, _source_file, _partition_date, _line_reason, {line_kind}{carry}
                   CASE WHEN _line_reason IS NULL THEN {reasons} END AS _contract_reason,
                   {typed}
            FROM {last}
        ), flagged AS (
            SELECT *{"".join(", " + flag for flag in flags)} FROM judged
        ), owned AS (
            SELECT *{f" EXCLUDE ({own_columns})" if own else ""}, {own_reason} AS _own_reason, {own_kind} AS _own_kind
            FROM flagged
        )
        SELECT _row_number, _source_file, _partition_date,
               coalesce(_line_reason, _contract_reason, _own_reason) AS _reason,
               CASE
                   WHEN _line_kind IS NOT NULL AND _line_reason IS NOT NULL THEN _line_kind
                   WHEN starts_with(_line_reason, 'the file has no ') THEN 'missing_column'
                   WHEN _line_reason IS NOT NULL THEN 'malformed'
                   WHEN _contract_reason IS NOT NULL THEN 'contract'
                   ELSE _own_kind
               END AS _reason_kind,
               NULL::VARCHAR AS _duplicate_of,
               * EXCLUDE (_row_number, _source_file, _partition_date, _line_reason, _line_kind, _contract_reason,
                          _own_reason, _own_kind)
        FROM owned
        """,
        compiler.params,
    )


def _check_across(con: duckdb.DuckDBPyConnection, source: Source) -> None:
    """Duplicates and references: the records of ``_checked`` without a reason are compared (by their key columns
    only) with each other and with ``raw``; the few rejected get their reason in place."""
    compiler = Compiler()
    checks: list[Check] = []
    needed = ["_source_file", "_row_number", "_partition_date", *source.key]
    if source.references_campaign:
        needed.append("campaign_id")
    columns = ", ".join(quote_ident(c) for c in dict.fromkeys(needed))
    ctes = [f"_candidates AS (SELECT {columns} FROM _checked WHERE _reason IS NULL)"]
    joins: list[str] = []
    if source.key:
        keys = ", ".join(quote_ident(k) for k in source.key)
        label = " + ".join(source.key)
        key_text = " || '/' || ".join(f"{quote_ident(k)}::VARCHAR" for k in source.key)
        # Only keys with more than one copy can have a later copy (most keys are unique).
        ctes.append(
            f"""_firsts AS (
                SELECT {keys}, min({ORDER}) AS _first FROM _candidates GROUP BY ALL HAVING count(*) > 1
            )"""
        )
        ctes.append(
            f"""_landed_keys AS (
                SELECT {keys}, min({ORDER}) AS _landed FROM {source.table}
                WHERE ({keys}) IN (SELECT ({keys}) FROM _candidates)
                GROUP BY ALL
            )"""
        )
        joins.append(f"LEFT JOIN _firsts USING ({keys})")
        joins.append(f"LEFT JOIN _landed_keys USING ({keys})")
        duplicate = compiler.param(f"duplicate {label} ")
        checks.append(
            (
                f"_landed IS NOT NULL AND _landed < {ORDER}",
                f"{duplicate} || {key_text} || {compiler.param(', already landed from ')} || _landed.f",
                "duplicate",
                "_landed.f",
            )
        )
        checks.append(
            (
                f"_first < {ORDER}",
                f"{duplicate} || {key_text} || CASE WHEN _first.f = _source_file "
                f"THEN {compiler.param(' (first seen at record ')} || _first.r || {compiler.param(' of this file)')} "
                f"ELSE {compiler.param(' (first seen in ')} || _first.f || {compiler.param(', record ')} || _first.r "
                f"|| ')' END",
                "duplicate",
                "_first.f",
            )
        )
    if source.references_campaign:
        ctes.append("_catalog AS (SELECT DISTINCT campaign_id AS _known_campaign FROM raw.campaigns)")
        joins.append("LEFT JOIN _catalog ON _catalog._known_campaign = _candidates.campaign_id")
        checks.append(
            (
                # A record without a campaign has no reason here (its text would be NULL).
                "_known_campaign IS NULL AND campaign_id IS NOT NULL",
                f"{compiler.param('unknown campaign_id ')} || campaign_id "
                f"|| {compiler.param(': not in the campaign catalog (held until a catalog that names it lands)')}",
                "unknown_reference",
                None,
            )
        )
    if not checks:
        return
    reason = "CASE " + " ".join(f"WHEN {c} THEN {text}" for c, text, _, _ in checks) + " END"
    kind = "CASE " + " ".join(f"WHEN {c} THEN '{k}'" for c, _, k, _ in checks) + " END"
    duplicate_of = "CASE " + " ".join(f"WHEN {c} THEN {d}" for c, _, _, d in checks if d is not None) + " END"
    if all(d is None for _, _, _, d in checks):
        duplicate_of = "NULL::VARCHAR"
    any_check = " OR ".join(f"({c})" for c, _, _, _ in checks)
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE _across AS
        WITH {", ".join(ctes)}
        SELECT _source_file, _row_number, {reason} AS _reason, {kind} AS _reason_kind,
               {duplicate_of} AS _duplicate_of
        FROM _candidates {" ".join(joins)}
        WHERE {any_check}
        """,
        compiler.params,
    )
    con.execute(
        """
        UPDATE _checked SET _reason = a._reason, _reason_kind = a._reason_kind, _duplicate_of = a._duplicate_of
        FROM _across AS a WHERE _checked._source_file = a._source_file AND _checked._row_number = a._row_number
        """
    )


def _time_window(compiler: Compiler, source: Source, plans: tuple[ColumnPlan, ...], settings: Settings) -> list[Check]:
    """Late records (event time before the lookback window) and timestamps after the landing date.

    The landing date is a business day in ``settings.timezone``: it starts at local midnight and ends at the next
    local midnight (23 or 25 hours later on the days the clocks change). The lookback window starts ``lookback_days``
    local days before the landing date's start.
    """
    checks: list[Check] = []
    zone = ""
    day = "strftime(_partition_date, '%Y-%m-%d')"
    for plan in plans:
        if plan.sql_type != "TIMESTAMPTZ":
            continue
        zone = zone or compiler.param(settings.timezone)
        column = quote_ident(plan.name)
        shown = f"strftime({column}, '%Y-%m-%dT%H:%M:%SZ')"
        if plan.name == source.event_time:
            days = compiler.param(settings.lookback_days)
            oldest = f"timezone({zone}, (_partition_date - {days}::INTEGER)::TIMESTAMP)"
            checks.append(
                (
                    f"{column} < {oldest}",
                    f"{compiler.param(f'late event: {plan.key} ')} || {shown} "
                    f"|| {compiler.param(f' is more than {settings.lookback_days} days before its landing date ')} "
                    f"|| {day}",
                    "late",
                    None,
                )
            )
        hours = compiler.param(settings.future_tolerance_hours)
        newest = f"timezone({zone}, (_partition_date + 1)::TIMESTAMP) + to_hours({hours})"
        what = "future event" if plan.name == source.event_time else "future timestamp"
        checks.append(
            (
                f"{column} >= {newest}",
                f"{compiler.param(f'{what}: {plan.key} ')} || {shown} "
                f"|| {compiler.param(' is after its landing date ')} || {day}",
                "future",
                None,
            )
        )
    return checks


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
