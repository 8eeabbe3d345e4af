"""The ops snapshot: what the cycles did, published for readers who must not open the warehouse (`loop ui`).

``published/_ops/status.json`` holds :func:`loop.status.cycle_status` of the last cycle dates (each attempt's
outcome and step durations, rows landed and quarantined per source, top quarantine reasons, files set aside,
schema drift, validation per pillar, publications), written atomically by the cycle after each publication and
after activation. It is a small JSON document, not a dataset: no customer data, only counts and step notes.

```
{"written_at": "2026-03-05T06:12:03+00:00", "status": {"cycles": [...], "sources": [...], ...}}
```
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from loop.settings import Settings

#: Cycle dates the snapshot covers (as `loop status --last`).
LAST_CYCLES = 14


def snapshot_path(settings: Settings) -> Path:
    return settings.published_dir / "_ops" / "status.json"


def write_snapshot(settings: Settings) -> Path:
    """Write the ops snapshot of the last cycle dates, replacing the previous one atomically."""
    from loop.status import cycle_status

    document = {
        "written_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "status": asdict(cycle_status(settings, last=LAST_CYCLES)),
    }
    path = snapshot_path(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".status.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w") as out:
            json.dump(document, out, default=str, indent=1)
        os.chmod(temporary, 0o644)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return path


def read_snapshot(settings: Settings) -> dict[str, Any] | None:
    """The last ops snapshot, or None if no cycle wrote one yet."""
    path = snapshot_path(settings)
    if not path.exists():
        return None
    document: dict[str, Any] = json.loads(path.read_text())
    return document
