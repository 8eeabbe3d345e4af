"""The Scorecard page: campaigns ranked by how well the platform kept their promise (``campaign_scorecard``), under
a chosen attribution model, and one campaign opened: its customers' experience over time, their feedback, the
audiences and actions that concern it and their outcomes.

The model and the open campaign are query parameters (``?model=linear&campaign=cmp_x``): a campaign view has its
own address.
"""

from __future__ import annotations

from typing import Any

import altair as alt
import pandas
import streamlit as st

from loop.ui.data import header, query, show_table

DEFAULT_MODEL = "first_touch"
#: Feedback rows shown in a campaign's view (the most recent).
FEEDBACK_SHOWN = 50

#: The ranking's columns: published name -> label shown.
RANKING = {
    "scorecard_rank": "Rank",
    "campaign_name": "Campaign",
    "channel": "Channel",
    "promise_kept_score": "Promise kept (0-100)",
    "spend": "Spend",
    "attributed_customers": "Customers",
    "attributed_cac": "CAC",
    "attributed_roas": "ROAS",
    "first_days_error_rate": "Error rate",
    "first_days_p95_latency_ms": "p95 latency (ms)",
    "nps": "NPS",
    "csat": "CSAT",
    "flagged": "Flagged",
    "flag_reason": "Why flagged",
}


def _models() -> list[str]:
    return list(query("SELECT DISTINCT model FROM campaign_scorecard ORDER BY model")["model"])


def _choose_model() -> str:
    models = _models()
    wanted = st.query_params.get("model", DEFAULT_MODEL)
    if wanted not in models:
        wanted = DEFAULT_MODEL if DEFAULT_MODEL in models else models[0]
    model = st.selectbox(
        "Attribution model",
        models,
        index=models.index(wanted),
        help="Which touches get the credit for a customer's sign-up or first purchase (campaign_scorecard.model).",
    )
    st.query_params["model"] = model
    return str(model)


def _money(value: Any) -> str:
    return "-" if value is None or pandas.isna(value) else f"{value:,.2f}"


def render() -> None:
    st.title("Scorecard")
    st.write("Campaigns ranked by how well the platform kept what they promised, with what they cost and brought.")
    header("campaign_scorecard", "experience_daily", "feedback", "audience_members", "actions", "action_outcomes")
    model = _choose_model()
    ranking = query(
        f"SELECT campaign_id, {', '.join(RANKING)} FROM campaign_scorecard "
        "WHERE model = $model ORDER BY scorecard_rank",
        {"model": model},
    )
    with st.container(key="scorecard-totals"):
        spend, customers, flagged, campaigns = st.columns(4)
        spend.metric("Spend", _money(ranking["spend"].sum()))
        customers.metric("Customers", f"{ranking['attributed_customers'].sum():,.1f}")
        flagged.metric("Flagged campaigns", int(ranking["flagged"].sum()))
        campaigns.metric("Campaigns", len(ranking))
    st.caption("Click a row to open the campaign.")
    event = st.dataframe(
        ranking.drop(columns="campaign_id").rename(columns=RANKING),
        key="ranking",
        hide_index=True,
        width="stretch",
        height=36 * (len(ranking) + 1) + 4,
        on_select="rerun",
        selection_mode="single-row",
        column_config={
            "Spend": st.column_config.NumberColumn(format="%.2f"),
            "Customers": st.column_config.NumberColumn(format="%.1f"),
            "CAC": st.column_config.NumberColumn(format="%.2f"),
            "ROAS": st.column_config.NumberColumn(format="%.2f"),
            "Error rate": st.column_config.NumberColumn(format="percent"),
            "p95 latency (ms)": st.column_config.NumberColumn(format="%.0f"),
            "NPS": st.column_config.NumberColumn(format="%.1f"),
            "CSAT": st.column_config.NumberColumn(format="%.2f"),
            "Promise kept (0-100)": st.column_config.ProgressColumn(min_value=0, max_value=100, format="%.1f"),
            "Why flagged": st.column_config.TextColumn(width="large"),
            "Campaign": st.column_config.TextColumn(width="small"),
            "Flagged": st.column_config.CheckboxColumn(width="small"),
        },
    )
    ids = list(ranking["campaign_id"])
    rows = event.selection.rows if event is not None else []
    if rows:
        st.query_params["campaign"] = ids[rows[0]]
    wanted = st.query_params.get("campaign")
    labels = {row.campaign_id: f"{row.campaign_name} ({row.campaign_id})" for row in ranking.itertuples()}
    choice = st.selectbox(
        "Open a campaign",
        [None, *ids],
        index=ids.index(wanted) + 1 if wanted in ids else 0,
        format_func=lambda c: "-" if c is None else labels[c],
    )
    if choice is None:
        st.query_params.pop("campaign", None)
        return
    st.query_params["campaign"] = choice
    campaign(str(choice), model)


def campaign(campaign_id: str, model: str) -> None:
    """One campaign: its figures under the model, its customers' experience and feedback, audiences and actions."""
    [row] = query(
        "SELECT * FROM campaign_scorecard WHERE model = $model AND campaign_id = $campaign",
        {"model": model, "campaign": campaign_id},
    ).to_dict("records")
    with st.container(key="campaign-view", border=True):
        st.header(f"{row['campaign_name']} ({campaign_id})")
        st.write(
            f"**Promise:** {row['promise']} · **promise areas:** {row['promise_areas']} · **channel:** {row['channel']}"
        )
        if row["flagged"]:
            st.error(f"Flagged: {row['flag_reason']}", icon="⚠️")
        else:
            st.success("Not flagged: the promise areas do not do clearly worse than the platform.", icon="✅")
        figures = st.columns(6)
        figures[0].metric(f"Rank ({model})", int(row["scorecard_rank"]))
        figures[1].metric(
            "Promise kept", "-" if pandas.isna(row["promise_kept_score"]) else f"{row['promise_kept_score']:.1f}"
        )
        figures[2].metric("Spend", _money(row["spend"]))
        figures[3].metric("Customers", f"{row['attributed_customers']:,.1f}")
        figures[4].metric("CAC", _money(row["attributed_cac"]))
        figures[5].metric("ROAS", _money(row["attributed_roas"]))
        _experience(campaign_id)
        _feedback(campaign_id)
        _audiences_and_actions(campaign_id)


def _experience(campaign_id: str) -> None:
    st.subheader("Experience over time")
    daily = query(
        """
        SELECT session_date AS day, sum(sessions) AS sessions, sum(error_sessions) / sum(sessions) AS error_rate,
               max(p95_latency_ms) AS p95_latency_ms
        FROM experience_daily WHERE campaign_id = $campaign GROUP BY ALL ORDER BY day
        """,
        {"campaign": campaign_id},
    )
    st.caption(
        "Sessions that came from this campaign, by the day they started (experience_daily); when its sessions "
        "landed on several pages in a day, p95 latency is the highest of them."
    )
    if daily.empty:
        st.info("No sessions came from this campaign yet.")
        return
    panels = [
        ("sessions", "Sessions", ",.0f"),
        ("error_rate", "Error rate", ".1%"),
        ("p95_latency_ms", "p95 latency (ms)", ",.0f"),
    ]
    base = alt.Chart(daily).mark_line(point=True).properties(width=210, height=200)
    chart = alt.hconcat(
        *[
            base.encode(
                x=alt.X("day:T", title=None, axis=alt.Axis(format="%b %d", tickCount="day")),
                y=alt.Y(f"{field}:Q", title=title, axis=alt.Axis(format=fmt)),
                tooltip=[alt.Tooltip("day:T"), alt.Tooltip(f"{field}:Q", title=title, format=fmt)],
            ).properties(title=title)
            for field, title, fmt in panels
        ]
    )
    st.altair_chart(chart, key="campaign-experience")


def _feedback(campaign_id: str) -> None:
    feedback = query(
        """
        SELECT submitted_at, kind, score, product_area, product_version, scrubbed_text AS text
        FROM feedback WHERE acquisition_campaign_id = $campaign ORDER BY submitted_at DESC
        """,
        {"campaign": campaign_id},
    )
    st.subheader(f"Their feedback ({len(feedback)})")
    st.caption("What the customers this campaign acquired said (product feedback; texts scrubbed of personal data).")
    if feedback.empty:
        st.info("Its customers gave no feedback yet.")
        return
    if len(feedback) > FEEDBACK_SHOWN:
        st.caption(f"The {FEEDBACK_SHOWN} most recent; the Product page browses and downloads all of it.")
    show_table(feedback.head(FEEDBACK_SHOWN), "campaign-feedback")


def _audiences_and_actions(campaign_id: str) -> None:
    st.subheader("Audiences and actions")
    audiences = query(
        """
        SELECT a.audience_id, a.name, a.channel, count(*) AS its_customers,
               count(*) FILTER (m.is_holdout) AS its_customers_held_out, a.members AS audience_members
        FROM audience_members AS m
        JOIN customer_360 AS c USING (customer_id)
        JOIN audiences AS a USING (audience_id)
        WHERE c.acquisition_campaign_id = $campaign
        GROUP BY ALL ORDER BY its_customers DESC, a.audience_id
        """,
        {"campaign": campaign_id},
    )
    st.caption("Audiences holding customers this campaign acquired (audience_members with customer_360).")
    if audiences.empty:
        st.info("None of its customers is in an audience.")
    else:
        show_table(audiences, "campaign-audiences")
    actions = query(
        """
        SELECT action_id, action_kind, subject, cycle_date, taken_at, treatment_size, holdout_size
        FROM actions
        WHERE (action_kind = 'audience_export' AND subject IN (
                  SELECT m.audience_id FROM audience_members AS m JOIN customer_360 AS c USING (customer_id)
                  WHERE c.acquisition_campaign_id = $campaign))
           OR (action_kind = 'signal' AND list_contains(
                  CAST(json_extract(details, '$.campaigns_broken') AS VARCHAR[]), $campaign))
        ORDER BY taken_at, action_id
        """,
        {"campaign": campaign_id},
    )
    st.caption(
        "Actions on those audiences, and product signals sent because this campaign's promise met the symptom; "
        "outcomes measure the whole audience (cohort against holdout), not only this campaign's customers."
    )
    if actions.empty:
        st.info("No action concerns this campaign yet.")
        return
    show_table(actions, "campaign-actions")
    outcomes = query(
        """
        SELECT o.action_id, o.metric, o.comparison, o.cohort_n, o.cohort_rate, o.comparison_n, o.comparison_rate,
               o.difference, o.difference_low, o.difference_high, o.verdict
        FROM action_outcomes AS o WHERE o.action_id IN (SELECT UNNEST($ids::VARCHAR[]))
        ORDER BY o.action_id, o.metric
        """,
        {"ids": list(actions["action_id"])},
    )
    st.markdown(f"**Outcomes ({len(outcomes)})**")
    if outcomes.empty:
        st.info("No outcome measured yet.")
    else:
        show_table(outcomes, "campaign-outcomes")
