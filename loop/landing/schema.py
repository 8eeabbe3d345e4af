"""The warehouse tables landing writes, created from the contracts and evolved with them.

``raw.<source>`` has one column per contract field plus landing's metadata columns. When a contract gains a field,
:func:`ensure_tables` adds the column to an existing warehouse (rows landed before have NULL there); a column whose
type changed, or a contract that lost a field, is reported as a clear error rather than guessed at. The ``ops``
tables (landing log, quarantine, drift, layout notices) evolve the same way.
"""

from __future__ import annotations

import duckdb

from loop.contracts import SOURCES, Source
from loop.errors import LoopError
from loop.landing.compile import quote_ident, raw_table_columns

#: The operational tables landing keeps, column by column (new columns are added to existing warehouses).
OPS_TABLES: dict[str, tuple[tuple[str, str], ...]] = {
    "ops.landing_log": (
        ("source", "VARCHAR NOT NULL"),
        ("pillar", "VARCHAR NOT NULL"),
        ("source_file", "VARCHAR NOT NULL"),
        ("partition_date", "DATE NOT NULL"),
        ("file_sha256", "VARCHAR NOT NULL"),
        ("status", "VARCHAR NOT NULL"),
        ("rows_read", "BIGINT NOT NULL"),
        ("rows_loaded", "BIGINT NOT NULL"),
        ("rows_quarantined", "BIGINT NOT NULL"),
        ("run_id", "VARCHAR"),
        ("landed_at", "TIMESTAMPTZ NOT NULL"),
        ("reason", "VARCHAR"),
        ("seconds", "DOUBLE"),
    ),
    "ops.quarantine": (
        ("source", "VARCHAR NOT NULL"),
        ("source_file", "VARCHAR NOT NULL"),
        ("row_number", "BIGINT NOT NULL"),
        ("payload", "VARCHAR"),
        ("reason", "VARCHAR NOT NULL"),
        ("partition_date", "DATE NOT NULL"),
        ("run_id", "VARCHAR"),
        ("quarantined_at", "TIMESTAMPTZ NOT NULL"),
        ("reason_kind", "VARCHAR"),
        ("duplicate_of", "VARCHAR"),
        ("released_at", "TIMESTAMPTZ"),
        ("released_run_id", "VARCHAR"),
        ("export_shape", "VARCHAR"),
    ),
    "ops.schema_drift": (
        ("source", "VARCHAR NOT NULL"),
        ("source_file", "VARCHAR NOT NULL"),
        ("partition_date", "DATE NOT NULL"),
        ("column_name", "VARCHAR NOT NULL"),
        ("change", "VARCHAR NOT NULL"),
        ("records", "BIGINT NOT NULL"),
        ("run_id", "VARCHAR"),
        ("noticed_at", "TIMESTAMPTZ NOT NULL"),
    ),
    "ops.layout_notices": (
        ("path", "VARCHAR NOT NULL"),
        ("notice", "VARCHAR NOT NULL"),
        ("first_noticed_at", "TIMESTAMPTZ NOT NULL"),
        ("last_noticed_at", "TIMESTAMPTZ NOT NULL"),
        ("run_id", "VARCHAR"),
    ),
}

#: Table-level constraints, applied when a table is created.
_TABLE_CHECKS = {"ops.landing_log": "CHECK (rows_read = rows_loaded + rows_quarantined)"}


def _existing_columns(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> dict[str, str]:
    rows = con.execute(
        "SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = ? AND table_name = ?",
        [schema, table],
    ).fetchall()
    return {str(name): str(kind) for name, kind in rows}


def _base_type(declaration: str) -> str:
    kind = declaration.replace(" NOT NULL", "").strip().upper()
    return {"TIMESTAMPTZ": "TIMESTAMP WITH TIME ZONE", "JSON": "JSON"}.get(kind, kind)


def ensure_table(con: duckdb.DuckDBPyConnection, qualified: str, columns: tuple[tuple[str, str], ...]) -> list[str]:
    """Create ``qualified`` with ``columns``, or add the columns an existing table lacks. Returns added columns."""
    schema, table = qualified.split(".")
    con.execute(f"CREATE SCHEMA IF NOT EXISTS {quote_ident(schema)}")
    target = f"{quote_ident(schema)}.{quote_ident(table)}"
    existing = _existing_columns(con, schema, table)
    if not existing:
        body = [f"{quote_ident(name)} {kind}" for name, kind in columns]
        if qualified in _TABLE_CHECKS:
            body.append(_TABLE_CHECKS[qualified])
        con.execute(f"CREATE TABLE IF NOT EXISTS {target} ({', '.join(body)})")
        return []
    added = []
    for name, kind in columns:
        if name not in existing:
            # A column added later cannot be NOT NULL: rows landed before it existed have no value.
            con.execute(f"ALTER TABLE {target} ADD COLUMN {quote_ident(name)} {kind.replace(' NOT NULL', '')}")
            added.append(name)
        elif _base_type(existing[name]) != _base_type(kind) and not existing[name].upper().startswith(
            _base_type(kind).split("(")[0]
        ):
            raise LoopError(
                f"{qualified}.{name} is {existing[name]} in the warehouse but {kind} in the contract; "
                "changing a column's type needs a migration (rename the field, or rebuild the warehouse)."
            )
    return added


def ensure_tables(con: duckdb.DuckDBPyConnection, sources: tuple[Source, ...] = SOURCES) -> dict[str, list[str]]:
    """Create or evolve the ``ops`` tables and the raw tables of ``sources``; returns the columns added per table."""
    added: dict[str, list[str]] = {}
    for table, columns in OPS_TABLES.items():
        if new := ensure_table(con, table, columns):
            added[table] = new
    for source in sources:
        if new := ensure_table(con, source.table, tuple(raw_table_columns(source))):
            added[source.table] = new
    return added
