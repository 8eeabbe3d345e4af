"""The Operations page: the last cycles, rows landed and quarantined per source, validation per pillar and the
publications.

The UI never opens the warehouse: the cycle figures come from the ops snapshot each cycle publishes
(``published/_ops/status.json``, :mod:`loop.publish.ops`), the publications from the pillars' manifests.
"""

from __future__ import annotations

import pandas
import streamlit as st

from loop.publish.ops import read_snapshot
from loop.ui.data import header, publications, settings, show_table


def _table(rows: list[dict[str, object]], key: str, empty: str) -> None:
    if not rows:
        st.info(empty)
        return
    show_table(pandas.DataFrame(rows), key)


def render() -> None:
    st.title("Operations")
    st.write("What the daily cycles did: their outcome, what landed and what was held back, validation, publications.")
    header()
    snapshot = read_snapshot(settings())
    current = publications()
    st.subheader("Publications")
    st.caption("The current version of each pillar, as its manifest says (what every page reads).")
    published = [
        {
            "pillar": pillar,
            "cycle": str(p.cycle_date),
            "data complete to": str(p.as_of),
            "version": p.version,
            "tables": len(p.tables),
            "rows": p.rows,
            "published at": p.published_at,
            "validated": ", ".join(p.lineage),
        }
        for pillar, p in current.items()
    ]
    _table(published, "ops-publications", "Nothing is published yet.")
    if snapshot is None:
        st.warning("No ops snapshot yet: the next cycle (`loop run`) writes published/_ops/status.json.")
        return
    status = snapshot["status"]
    st.caption(f"Cycle figures as of the ops snapshot written {snapshot['written_at']} by the last publishing cycle.")
    st.subheader("Last cycles")
    _table(status["cycles"], "ops-cycles", "No cycle ran yet.")
    st.subheader("Landed and quarantined per source")
    st.caption("Rows read = loaded + quarantined; `loop quarantine list` explains what is held.")
    _table(status["sources"], "ops-sources", "Nothing landed yet.")
    if status.get("quarantine_reasons"):
        with st.expander("Top quarantine reasons"):
            _table(status["quarantine_reasons"], "ops-reasons", "")
    if status.get("set_aside"):
        with st.expander(f"Files set aside ({len(status['set_aside'])})"):
            _table(status["set_aside"], "ops-set-aside", "")
    if status.get("drift"):
        with st.expander(f"Schema drift ({len(status['drift'])})"):
            _table(status["drift"], "ops-drift", "")
    st.subheader("Validation per pillar")
    validations = [{k: v for k, v in row.items() if k != "result_path"} for row in status["validations"]]
    _table(validations, "ops-validations", "No validation ran yet.")
