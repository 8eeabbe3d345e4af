"""Product: NPS and CSAT by area and version with their 95 % intervals, release impact, what to fix first, feature
requests, and a feedback browser whose filtered slice downloads as CSV.

Reads ``satisfaction_by_segment`` (its ``area_version`` rows), ``release_impact``, ``product_signals``,
``feature_requests`` and ``feedback``: the published tables, whose customer ids are pseudonyms (as in exports). The
browser's filters, its text search included, reach DuckDB as bound parameters; the search is a case-insensitive
``ILIKE`` on the scrubbed text with the user's ``%``, ``_`` and ``\\`` escaped, so they match themselves.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

import altair as alt
import pandas as pd
import streamlit as st

from loop.ui.data import choose_section, header, query, settings, show_table

SATISFACTION_SQL = """
select product_area, product_version, nps_responses, nps, nps_ci_low, nps_ci_high,
    csat_responses, csat_score, csat_score_ci_low, csat_score_ci_high
from satisfaction_by_segment
where segment_level = 'area_version'
order by product_area, product_version
"""

RELEASE_SQL = """
select product_version, released_on, product_area, window_days, after_window_complete,
    sessions_before, sessions_after, error_rate_before, error_rate_after, error_rate_change,
    p95_latency_ms_before, p95_latency_ms_after, p95_latency_ms_change,
    nps_responses_before, nps_responses_after, nps_before, nps_after, nps_change,
    csat_responses_before, csat_responses_after, csat_score_before, csat_score_after, csat_score_change
from release_impact
order by released_on desc, product_version desc, product_area
"""

SIGNALS_SQL = """
select signal_rank, product_area, symptom_kind, symptom, occurrences, visitors_affected, customers_affected,
    customer_revenue, array_to_string(campaigns_broken, ', ') as campaigns_broken,
    array_to_string(example_feedback, ' | ') as example_feedback, first_seen_at, last_seen_at
from product_signals
order by signal_rank
"""

REQUESTS_SQL = """
select demand_rank, request_text, requests, customers, votes, customer_revenue,
    array_to_string(product_areas, ', ') as product_areas, array_to_string(topics, ', ') as topics,
    first_requested_at, last_requested_at
from feature_requests
order by demand_rank
"""

FEEDBACK_OPTIONS_SQL = """
select
    list(distinct product_area order by product_area) filter (where product_area is not null) as areas,
    list(distinct kind order by kind) filter (where kind is not null) as kinds,
    list(distinct product_version order by product_version) filter (where product_version is not null) as versions,
    min(submitted_at) as first_at,
    max(submitted_at) as last_at
from feedback
"""

#: The browser's slice: every published column (lists as DuckDB writes them in CSV exports, '[a, b]').
FEEDBACK_SQL = r"""
select * replace (cast(keywords as varchar) as keywords, cast(topics as varchar) as topics)
from feedback
where (len($areas) = 0 or list_contains($areas, product_area))
    and (len($kinds) = 0 or list_contains($kinds, kind))
    and (len($versions) = 0 or list_contains($versions, product_version))
    and submitted_at >= $since and submitted_at < $before
    and ($pattern is null or scrubbed_text ilike $pattern escape '\')
order by submitted_at, feedback_id
"""

#: The columns the browser shows (the download has them all).
SHOWN = [
    "submitted_at",
    "kind",
    "product_area",
    "product_version",
    "score",
    "channel",
    "scrubbed_text",
    "sentiment_label",
    "topics",
    "customer_id",
    "feedback_id",
]


def like_pattern(text: str) -> str | None:
    """An ILIKE pattern finding ``text`` anywhere (``%``, ``_`` and ``\\`` escaped); None for an empty search."""
    text = text.strip()
    if not text:
        return None
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def feedback_filters(settings_zone: Any, picked: Any, first: date, last: date) -> tuple[datetime, datetime]:
    """The instants [since, before) of the business days picked (midnight in LOOP_TIMEZONE)."""
    days = [day for day in (picked if isinstance(picked, (tuple, list)) else [picked]) if day is not None]
    start, end = (min(days), max(days)) if days else (first, last)
    return (
        datetime.combine(start, time(), tzinfo=settings_zone),
        datetime.combine(end + timedelta(days=1), time(), tzinfo=settings_zone),
    )


def satisfaction_section() -> None:
    st.subheader("NPS and CSAT by area and version")
    st.caption(
        "Each point is an area and version's score; the bar its 95 % interval (NPS: Wald, CSAT: Wilson). Few "
        "answers make wide intervals: compare intervals, not points."
    )
    rows = query(SATISFACTION_SQL)
    if rows.empty:
        st.info("No NPS or CSAT answers are published yet.")
        return
    rows["segment"] = rows["product_area"] + " " + rows["product_version"]
    for column, (score, low, high, title, scale) in zip(
        st.columns(2),
        (
            ("nps", "nps_ci_low", "nps_ci_high", "NPS", [-100, 100]),
            ("csat_score", "csat_score_ci_low", "csat_score_ci_high", "CSAT (% satisfied)", [0, 100]),
        ),
        strict=True,
    ):
        part = rows.dropna(subset=[score])
        base = alt.Chart(part).encode(y=alt.Y("segment:N", title="Area and version", sort=None))
        bars = base.mark_rule().encode(x=alt.X(f"{low}:Q", title=title, scale=alt.Scale(domain=scale)), x2=f"{high}:Q")
        points = base.mark_point(filled=True, size=60).encode(
            x=f"{score}:Q",
            color=alt.Color("product_area:N", title="Area"),
            tooltip=["product_area", "product_version", score, low, high],
        )
        chart = (bars + points).properties(height=max(120, 22 * len(part)), title=title)
        column.altair_chart(chart, width="stretch")
    shown = rows.drop(columns=["segment"]).rename(
        columns={
            "product_area": "Area",
            "product_version": "Version",
            "nps_responses": "NPS answers",
            "nps": "NPS",
            "nps_ci_low": "NPS low",
            "nps_ci_high": "NPS high",
            "csat_responses": "CSAT answers",
            "csat_score": "CSAT %",
            "csat_score_ci_low": "CSAT low",
            "csat_score_ci_high": "CSAT high",
        }
    )
    scores = [c for c in shown.columns if c not in ("Area", "Version", "NPS answers", "CSAT answers")]
    shown[scores] = shown[scores].map(lambda v: "n/a" if pd.isna(v) else f"{float(v):.1f}")
    show_table(shown, "product-satisfaction", right=tuple(c for c in shown.columns if c not in ("Area", "Version")))


#: The page's sections, one shown at a time (a page drawing all its tables and charts at once takes over 2 s to
#: load); the chosen one is in the address (``?section=feedback``), so a view can be shared.
SECTIONS = {
    "satisfaction": "NPS and CSAT",
    "releases": "Release impact",
    "signals": "What to fix first",
    "requests": "Feature requests",
    "feedback": "Feedback",
}


def render() -> None:
    """The Product page."""
    header("satisfaction_by_segment", "release_impact", "product_signals", "feature_requests", "feedback")
    st.title("Product")
    section = choose_section(SECTIONS, "product-section")
    {
        "satisfaction": satisfaction_section,
        "releases": releases_section,
        "signals": signals_section,
        "requests": requests_section,
        "feedback": feedback_browser,
    }[section]()


def releases_section() -> None:
    st.subheader("Release impact")
    st.caption(
        "Each release and area it touched: the area's days before the release against the same number of days "
        "from it. An after window still open (not complete) can still move."
    )
    releases = query(RELEASE_SQL)
    with st.container(key="product-releases"):
        st.dataframe(
            releases, hide_index=True, width="stretch", column_config={"released_on": st.column_config.DateColumn()}
        )


def signals_section() -> None:
    st.subheader("What to fix first")
    st.caption("The cycle's product signals, ranked by the customers each symptom touched.")
    with st.container(key="product-signals"):
        st.dataframe(query(SIGNALS_SQL), hide_index=True, width="stretch")


def requests_section() -> None:
    st.subheader("Feature requests")
    st.caption("Requests worded alike form a theme, ranked by the customers who asked, then their revenue.")
    with st.container(key="product-requests"):
        st.dataframe(query(REQUESTS_SQL), hide_index=True, width="stretch")


def feedback_browser() -> None:
    """Filters, the matching feedback and the download of that slice."""
    st.subheader("Feedback")
    options = query(FEEDBACK_OPTIONS_SQL).iloc[0]
    if pd.isna(options["first_at"]):
        st.info("No feedback is published yet.")
        return
    zone = settings().zone
    first = pd.Timestamp(options["first_at"]).tz_convert(zone).date()
    last = pd.Timestamp(options["last_at"]).tz_convert(zone).date()
    area_column, kind_column, version_column, dates_column = st.columns(4)
    areas = area_column.multiselect("Area", list(options["areas"]), key="feedback-area", placeholder="Every area")
    kinds = kind_column.multiselect("Kind", list(options["kinds"]), key="feedback-kind", placeholder="Every kind")
    versions = version_column.multiselect(
        "Version", list(options["versions"]), key="feedback-version", placeholder="Every version"
    )
    picked = dates_column.date_input(
        "Submitted", value=(first, last), min_value=first, max_value=last, key="feedback-dates"
    )
    search = st.text_input("Search the text", key="feedback-search", placeholder="words in the scrubbed text")
    since, before = feedback_filters(zone, picked, first, last)
    rows = query(
        FEEDBACK_SQL,
        {
            "areas": list(areas),
            "kinds": list(kinds),
            "versions": list(versions),
            "since": since,
            "before": before,
            "pattern": like_pattern(search),
        },
    )
    with st.container(key="feedback-count"):
        st.markdown(f"**{len(rows)}** feedback record(s) match.")
    st.download_button(
        "Download these rows (CSV)",
        data=rows.to_csv(index=False).encode("utf-8"),
        file_name="feedback.csv",
        mime="text/csv",
        key="feedback-download",
        on_click="ignore",
    )
    with st.container(key="feedback-rows"):
        st.dataframe(rows[SHOWN], hide_index=True, width="stretch")
    st.caption("Customer ids are pseudonyms, as in the published table and exports; texts are scrubbed.")
