"""One settings object for loop, read from ``LOOP_*`` environment variables (or a ``.env`` file).

Everything a run writes lives under one project data directory (``LOOP_DATA_DIR``, default ``./.loop``):

```
.loop/
  landing/<pillar>/<source>/date=YYYY-MM-DD/*.csv|*.ndjson   raw files users (or `loop generate`) drop
  warehouse/loop.duckdb                                      the DuckDB warehouse (raw, ops, marts)
  published/<pillar>/...                                     validated Parquet datasets + manifest.json
  validation/<run_id>/<pillar>.json                          Great Expectations results, kept per run
  exports/<destination>/<audience_id>/...                    audience files for ad platforms and owned tools
  secrets/pseudonym.key                                      key of the published customer-id pseudonyms (0600)
  airflow/                                                   AIRFLOW_HOME (SQLite metadata DB, logs)
```
"""

from __future__ import annotations

from functools import cache, cached_property
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo, available_timezones

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

#: The repository root: ``dags/``, ``dbt_project/`` and ``expectations/`` live next to the ``loop`` package.
PROJECT_ROOT = Path(__file__).resolve().parent.parent

PILLARS: tuple[str, ...] = ("marketing", "experience", "product")
"""The three source pillars that land raw data."""

PUBLISHED_PILLARS: tuple[str, ...] = ("marketing", "experience", "product", "cycle")
"""Pillars that publish validated datasets; ``cycle`` joins the other three (the cycle scorecard)."""


@cache
def _zone_names() -> frozenset[str]:
    """The IANA time zone names this system knows (``LOOP_TIMEZONE`` must be one); ``localtime`` is the host's own
    zone, no IANA name (and DuckDB does not know it)."""
    return frozenset(available_timezones()) - {"localtime"}


class Settings(BaseSettings):
    """loop's configuration. Every field can be set with ``LOOP_<FIELD>`` (e.g. ``LOOP_DATA_DIR``)."""

    model_config = SettingsConfigDict(env_prefix="LOOP_", env_file=".env", extra="ignore", frozen=True)

    data_dir: Path = Field(Path(".loop"), description="Project data directory holding every run artefact.")
    lookback_days: int = Field(
        3, ge=0, description="Late events older than this many days before their landing date are quarantined."
    )
    future_tolerance_hours: int = Field(
        1, ge=0, description="Events stamped this far past the end of their landing date are quarantined."
    )
    timezone: str = Field(
        "UTC",
        description="The business day's time zone (an IANA name such as America/Sao_Paulo): landing dates and "
        "cycle dates are days in it.",
    )
    reporting_currency: str = Field(
        "EUR",
        description="The currency marts report money in (an ISO 4217 code): ad spend in other currencies is "
        "converted with marketing/currency_rates, whose rates are units of this currency.",
    )
    ad_export_shapes: Path | None = Field(
        None,
        description="A TOML file of ad-platform export shapes that add to (or replace, by name) the shapes loop "
        "ships (loop/landing/exports/ad_exports.toml).",
    )
    feedback_export_shapes: Path | None = Field(
        None,
        description="A TOML file of feedback export shapes (survey tools, help desks, app stores) that add to (or "
        "replace, by name) the shapes loop ships (loop/landing/exports/feedback_exports.toml).",
    )
    dbt_threads: int = Field(2, ge=1, description="dbt threads for the model build.")
    dbt_log_level: Literal["debug", "info", "warn", "error", "none"] = Field(
        "info",
        description="What dbt writes to <data dir>/dbt/logs/dbt.log. 'debug' adds every statement it runs (a tenth "
        "of a daily build's time goes to writing them); the compiled SQL is in dbt/target either way.",
    )
    airflow_port: int = Field(0, ge=0, le=65535, description="Embedded Airflow API port; 0 picks a free one.")
    lock_timeout_seconds: float = Field(
        600.0, gt=0, description="How long a writer waits for the warehouse before failing."
    )
    max_record_bytes: int = Field(
        1 << 20, ge=1024, description="A record (NDJSON line, CSV row) larger than this is quarantined as too large."
    )
    task_retries: int = Field(3, ge=0, description="Retries of a cycle task that failed for a passing cause.")
    task_retry_delay_seconds: float = Field(
        10.0, gt=0, description="First retry delay of a cycle task; doubles with each retry."
    )
    query_timeout_seconds: float = Field(60.0, gt=0, description="A `loop query` running longer is stopped.")
    query_memory_limit: str = Field(
        "2GB", pattern=r"^[0-9]+(\.[0-9]+)?\s*(KB|MB|GB|TB|KiB|MiB|GiB|TiB)$", description="Memory for one query."
    )
    query_threads: int = Field(2, ge=1, description="Threads for one query.")
    holdout_share: float = Field(
        0.1, ge=0, lt=0.5, description="Share of each audience held out of every export, to measure the action."
    )
    holdout_seed: str = Field(
        "loop", min_length=1, description="Seed of the holdout draw (a stable hash of seed, audience and customer)."
    )
    signals_sent_per_cycle: int = Field(
        3, ge=0, description="The top product signals sent to product each cycle (recorded as actions)."
    )
    serve_port: int = Field(8080, ge=1, le=65535, description="Port of the standing Airflow's UI (`loop serve`).")
    serve_host: str = Field("127.0.0.1", description="Address the standing Airflow's UI listens on.")
    write_keys: str = Field(
        "",
        description="Write keys `loop collect` accepts, comma-separated (the SDKs send one as their write key).",
    )
    collect_host: str = Field("127.0.0.1", description="Address `loop collect` listens on.")
    collect_port: int = Field(8088, ge=0, le=65535, description="Port of `loop collect`; 0 picks a free one.")
    collect_part_bytes: int = Field(
        64 << 20, ge=1, description="`loop collect` closes a part file into its date folder at this size."
    )
    collect_part_seconds: float = Field(
        60.0, gt=0, description="`loop collect` closes a part file into its date folder at this age."
    )
    collect_queue_events: int = Field(
        20_000, ge=1, description="Events `loop collect` holds waiting for the disk before answering 429."
    )
    pseudonym_key: SecretStr | None = Field(
        None,
        description="Key of the keyed hash (HMAC-SHA256) that replaces customer ids in published product datasets. "
        "Unset: a random key is made once and kept in <data dir>/secrets/pseudonym.key. Keep it stable: another key "
        "gives other pseudonyms, and pulls made before and after no longer join.",
    )

    @field_validator("pseudonym_key", mode="before")
    @classmethod
    def _usable_key(cls, value: object) -> object:
        text = value.get_secret_value() if isinstance(value, SecretStr) else value
        if text is None or (isinstance(text, str) and not text.strip()):
            return None  # LOOP_PSEUDONYM_KEY= (empty) means "use the key file"
        if isinstance(text, str) and len(text.strip()) < 16:
            raise ValueError("LOOP_PSEUDONYM_KEY must be at least 16 characters (e.g. `openssl rand -hex 32`).")
        return value

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        if value not in _zone_names():
            raise ValueError(
                f"LOOP_TIMEZONE {value!r} is not a known IANA time zone; use a name such as UTC, Europe/Berlin or "
                "America/Sao_Paulo."
            )
        return value

    @field_validator("reporting_currency")
    @classmethod
    def _iso_currency(cls, value: str) -> str:
        from loop.contracts.currencies import ISO_4217

        if value not in ISO_4217:
            raise ValueError(
                f"LOOP_REPORTING_CURRENCY {value!r} is not an ISO 4217 currency code; use a code such as EUR or USD."
            )
        return value

    @property
    def zone(self) -> ZoneInfo:
        """The business day's time zone (``LOOP_TIMEZONE``)."""
        return ZoneInfo(self.timezone)

    @cached_property
    def root(self) -> Path:
        """The data directory as an absolute path."""
        return self.data_dir.expanduser().resolve()

    @property
    def write_key_set(self) -> frozenset[str]:
        """The accepted write keys: ``LOOP_WRITE_KEYS`` split at commas, blanks dropped."""
        return frozenset(key.strip() for key in self.write_keys.split(",") if key.strip())

    @property
    def landing_dir(self) -> Path:
        return self.root / "landing"

    @property
    def warehouse_path(self) -> Path:
        return self.root / "warehouse" / "loop.duckdb"

    @property
    def published_dir(self) -> Path:
        return self.root / "published"

    @property
    def exports_dir(self) -> Path:
        """Default folder of `loop export audiences` (one subfolder per destination)."""
        return self.root / "exports"

    @property
    def validation_dir(self) -> Path:
        return self.root / "validation"

    @property
    def airflow_home(self) -> Path:
        return self.root / "airflow"

    @property
    def dbt_target_dir(self) -> Path:
        return self.root / "dbt" / "target"

    # Code assets shipped with the project (not data).
    @property
    def dbt_project_dir(self) -> Path:
        return PROJECT_ROOT / "dbt_project"

    @property
    def dags_dir(self) -> Path:
        return PROJECT_ROOT / "dags"

    @property
    def expectations_dir(self) -> Path:
        return PROJECT_ROOT / "expectations"

    def ensure_dirs(self) -> None:
        """Create the data directory tree (idempotent)."""
        for path in (
            self.landing_dir,
            self.warehouse_path.parent,
            self.published_dir,
            self.validation_dir,
            self.airflow_home,
        ):
            path.mkdir(parents=True, exist_ok=True)


def get_settings() -> Settings:
    """Settings from the environment; call it where needed rather than caching a module-level instance."""
    return Settings()
