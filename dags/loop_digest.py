"""
### loop digest — what the cycle found and did, for the product and marketing teams

Runs whenever the **cycle** pillar is published (it is scheduled on that publication's Asset, so it follows the
data, not the clock): writes a short Markdown digest of the newest published cycle to
`<data dir>/exports/digests/<as of>.md` — the top product signals (what to fix first and which campaign promises
they break), the audiences and their sizes, the actions taken and their measured outcomes against the holdouts.
It reads only the published datasets.
"""

from __future__ import annotations

import pendulum
from airflow.sdk import Asset, dag, task


def _cycle_asset() -> Asset:
    from loop.settings import get_settings

    manifest = get_settings().published_dir / "cycle" / "manifest.json"
    return Asset(uri=manifest.as_uri(), name="loop_published_cycle", group="loop")


@task
def write_digest() -> str:
    from loop.activate.digest import write_digest as write
    from loop.settings import get_settings

    return str(write(get_settings()))


@dag(
    dag_id="loop_digest",
    schedule=[_cycle_asset()],
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    tags=["loop"],
    doc_md=__doc__,
)
def loop_digest() -> None:
    write_digest()


loop_digest()
