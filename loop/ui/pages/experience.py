"""Experience: sessions, conversion, error rate and p95 latency by day, channel, campaign and landing product area.

Reads ``experience_daily`` only (one row per day, campaign, channel, landing page and its product area). Every
figure is summed over the rows the filters keep: rates are ratios of sums (converted or error sessions over
sessions), and the p95 latency of a group is the sessions-weighted mean of its rows' p95 (a percentile cannot be
re-derived from rows already aggregated; it is exact wherever one row makes the group). The filters reach DuckDB as
bound parameters only.

It shows one metric's chart at a time (line by day, bars by channel, campaign or area) and its table as Markdown:
a faceted four-chart view and ``st.table`` (whose browser code alone is about 0.8 MB of JavaScript) made the page
take about 2.3 s to load; `benchmarks/bench_ui.py` measures it.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import altair as alt
import pandas as pd
import streamlit as st

from loop.ui.data import header, markdown_table, query

#: What a null reads as on the page (and in the filters), per dimension.
ORGANIC = "(organic)"
NO_AREA = "(none)"
UNKNOWN = "(unknown)"

#: The breakdowns, in the order of the choice: (choice, grouping-set name, axis title).
BREAKDOWNS = (
    ("Day", "day", "Day"),
    ("Channel", "channel", "Channel"),
    ("Campaign", "campaign", "Campaign"),
    ("Product area", "area", "Landing product area"),
)

#: The metrics the chart shows, one at a time (the first by default): column -> title.
METRICS = {
    "sessions": "Sessions",
    "conversion_rate": "Conversion rate (%)",
    "error_rate": "Error rate (%)",
    "p95_latency_ms": "p95 latency (ms)",
}
#: The metrics that are shares (charted as percentages).
RATES = ("conversion_rate", "error_rate")

# One query, one row per group of each breakdown (GROUPING SETS), over the filtered rows. The filter values are
# parameters: an empty list means "every value".
FIGURES_SQL = f"""
with kept as (
    select
        session_date as day,
        coalesce(channel, '{UNKNOWN}') as channel,
        coalesce(campaign_id, '{ORGANIC}') as campaign,
        coalesce(landing_product_area, '{NO_AREA}') as area,
        sessions, converted_sessions, error_sessions, p95_latency_ms
    from experience_daily
    where session_date between $start and $end
        and (len($channels) = 0 or list_contains($channels, coalesce(channel, '{UNKNOWN}')))
        and (len($campaigns) = 0 or list_contains($campaigns, coalesce(campaign_id, '{ORGANIC}')))
        and (len($areas) = 0 or list_contains($areas, coalesce(landing_product_area, '{NO_AREA}')))
)
select
    case
        when grouping(day) = 0 then 'day'
        when grouping(channel) = 0 then 'channel'
        when grouping(campaign) = 0 then 'campaign'
        when grouping(area) = 0 then 'area'
        else 'total'
    end as breakdown,
    day, channel, campaign, area,
    sum(sessions) as sessions,
    sum(converted_sessions) as converted_sessions,
    sum(error_sessions) as error_sessions,
    sum(converted_sessions) / sum(sessions) as conversion_rate,
    sum(error_sessions) / sum(sessions) as error_rate,
    sum(p95_latency_ms * sessions) / sum(sessions) filter (where p95_latency_ms is not null) as p95_latency_ms
from kept
group by grouping sets ((day), (channel), (campaign), (area), ())
"""

OPTIONS_SQL = f"""
select
    min(session_date) as first_day,
    max(session_date) as last_day,
    list(distinct coalesce(channel, '{UNKNOWN}') order by coalesce(channel, '{UNKNOWN}')) as channels,
    list(distinct coalesce(campaign_id, '{ORGANIC}') order by coalesce(campaign_id, '{ORGANIC}')) as campaigns,
    list(distinct coalesce(landing_product_area, '{NO_AREA}') order by coalesce(landing_product_area, '{NO_AREA}'))
        as areas
from experience_daily
"""


def figures_table(figures: pd.DataFrame, label: str) -> pd.DataFrame:
    """The figures as the page's tables show them: whole sessions, rates in % with two decimals, latency in ms."""
    shown = pd.DataFrame(
        {
            label: figures["label"].astype(str),
            "Sessions": figures["sessions"].astype("int64"),
            "Converted sessions": figures["converted_sessions"].astype("int64"),
            "Conversion rate": figures["conversion_rate"].map(percent),
            "Sessions with an error": figures["error_sessions"].astype("int64"),
            "Error rate": figures["error_rate"].map(percent),
            "p95 latency (ms)": figures["p95_latency_ms"].map(milliseconds),
        }
    )
    return shown.set_index(label)


def percent(value: Any) -> str:
    """A share as a percentage with two decimals ('12.34%'); '-' when there is none."""
    return "-" if pd.isna(value) else f"{100 * float(value):.2f}%"


def milliseconds(value: Any) -> str:
    """Milliseconds rounded to whole ones ('1234'); '-' when there is none."""
    return "-" if pd.isna(value) else f"{float(value):.0f}"


def metric_chart(figures: pd.DataFrame, label: str, metric: str, *, by_day: bool) -> alt.Chart:
    """One metric by the breakdown: a line (with points) by day, else bars from the largest."""
    title = METRICS[metric]
    values = figures.assign(value=(100 if metric in RATES else 1) * figures[metric].astype("float64"))
    if by_day:
        base = alt.Chart(values).mark_line(point=True)
        x = alt.X("label:T", title=label, axis=alt.Axis(format="%Y-%m-%d", tickCount="day"))
    else:
        base = alt.Chart(values).mark_bar()
        x = alt.X("label:N", title=label, sort="-y")
    return base.encode(
        x=x,
        y=alt.Y("value:Q", title=title),
        tooltip=[alt.Tooltip("label", title=label), alt.Tooltip("value:Q", title=title, format=",.2f")],
    ).properties(height=260)


def render() -> None:
    """The Experience page."""
    header("experience_daily")
    st.title("Experience")
    st.caption(
        "Sessions, conversion, error rate and p95 latency of the platform's human sessions, counted on the day they "
        "started, by channel, campaign and the product area of their landing page."
    )
    options = query(OPTIONS_SQL).iloc[0]
    if pd.isna(options["first_day"]):
        st.info("The published experience data has no sessions yet.")
        return
    first_day, last_day = options["first_day"], options["last_day"]
    first_day = first_day.date() if hasattr(first_day, "date") else first_day
    last_day = last_day.date() if hasattr(last_day, "date") else last_day

    dates_column, channel_column, campaign_column, area_column = st.columns([1.2, 1, 1, 1])
    picked = dates_column.date_input(
        "Dates", value=(first_day, last_day), min_value=first_day, max_value=last_day, key="experience-dates"
    )
    channels = channel_column.multiselect(
        "Channel", list(options["channels"]), key="experience-channel", placeholder="Every channel"
    )
    campaigns = campaign_column.multiselect(
        "Campaign", list(options["campaigns"]), key="experience-campaign", placeholder="Every campaign"
    )
    areas = area_column.multiselect(
        "Product area", list(options["areas"]), key="experience-area", placeholder="Every landing area"
    )
    start, end = date_range(picked, first_day, last_day)

    figures = query(
        FIGURES_SQL,
        {"start": start, "end": end, "channels": list(channels), "campaigns": list(campaigns), "areas": list(areas)},
    )
    total = figures[figures["breakdown"] == "total"]
    if total.empty or pd.isna(total["sessions"].iloc[0]):
        st.info("No sessions match these filters.")
        return
    row = total.iloc[0]
    with st.container(key="experience-totals", horizontal=True):
        st.metric("Sessions", f"{int(row['sessions']):,}")
        st.metric("Conversion rate", percent(row["conversion_rate"]))
        st.metric("Error rate", percent(row["error_rate"]))
        st.metric("p95 latency (ms)", milliseconds(row["p95_latency_ms"]))

    titles = {title: (name, label) for title, name, label in BREAKDOWNS}
    chosen = st.radio("Break down by", list(titles), horizontal=True, key="experience-breakdown")
    name, label = titles[chosen or BREAKDOWNS[0][0]]
    part = figures[figures["breakdown"] == name].rename(columns={name: "label"})
    if name == "day":
        part = part.sort_values("label").assign(label=pd.to_datetime(part["label"]).dt.date)
    else:
        part = part.sort_values(["sessions", "label"], ascending=[False, True])
    metric = st.radio("Chart", list(METRICS), format_func=METRICS.__getitem__, horizontal=True, key="experience-metric")
    st.altair_chart(metric_chart(part, label, metric or "sessions", by_day=name == "day"), width="stretch")
    shown = figures_table(part, label)
    with st.container(key=f"experience-by-{name}"):
        st.markdown(markdown_table(shown, index=True, right=tuple(shown.columns)))
    st.caption(
        "Rates are converted (or errored) sessions over sessions. p95 latency of a group is the sessions-weighted "
        "mean of the p95 of its published rows (day x campaign x channel x landing page)."
    )


def date_range(picked: Any, first_day: date, last_day: date) -> tuple[date, date]:
    """The (start, end) days of a date_input value, which holds one day while the user is picking the second."""
    days = list(picked) if isinstance(picked, (tuple, list)) else [picked]
    days = [day for day in days if day is not None]
    if not days:
        return first_day, last_day
    return min(days), max(days)
