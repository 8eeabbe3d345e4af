"""Loop: what the loop did (actions), who it reached and held out (audiences), and what that changed
(action_outcomes: the cohort against its comparison, with the difference's 95 % interval and a verdict).

Reads ``actions``, ``audiences`` and ``action_outcomes``. The filters (cycle, kind of action, verdict) reach DuckDB
as bound parameters.
"""

from __future__ import annotations

import altair as alt
import pandas as pd
import streamlit as st

from loop.ui.data import choose_section, header, query, show_table

AUDIENCES_SQL = """
select audience_id, name, channel, destinations, rule_version, members, holdout_members, exported_members, purpose,
    rule
from audiences
order by members desc, audience_id
"""

OPTIONS_SQL = """
select
    list(distinct cycle_date order by cycle_date desc) as cycles,
    list(distinct action_kind order by action_kind) as kinds
from actions
"""

VERDICTS_SQL = "select list(distinct verdict order by verdict) as verdicts from action_outcomes"

ACTIONS_SQL = """
select action_id, action_kind, subject, cycle_date, as_of, taken_at, rule_version, product_area, symptom,
    treatment_size, holdout_size, details
from actions
where (len($cycles) = 0 or list_contains($cycles, cycle_date))
    and (len($kinds) = 0 or list_contains($kinds, action_kind))
order by cycle_date desc, action_id
"""

OUTCOMES_SQL = """
select o.action_id, o.action_kind, o.subject, o.metric, o.better_when, o.comparison, o.cohort_n, o.cohort_rate,
    o.comparison_n, o.comparison_rate, o.difference, o.difference_low, o.difference_high, o.verdict
from action_outcomes as o
left join actions as a on a.action_id = o.action_id
where (len($cycles) = 0 or list_contains($cycles, a.cycle_date))
    and (len($kinds) = 0 or list_contains($kinds, o.action_kind))
    and (len($verdicts) = 0 or list_contains($verdicts, o.verdict))
order by a.cycle_date desc, o.action_id, o.metric
"""

VERDICT_COLOURS = alt.Scale(
    domain=["better", "worse", "no clear difference", "too few to tell yet"],
    range=["#2e7d32", "#c62828", "#757575", "#bdbdbd"],
)


def audiences_section() -> None:
    st.subheader("Audiences")
    st.caption("Members of each audience this cycle: the exported part and the holdout kept back to measure it.")
    audiences = query(AUDIENCES_SQL)
    if audiences.empty:
        st.info("No audiences are published yet.")
        return
    long = audiences.melt(
        id_vars=["audience_id"], value_vars=["exported_members", "holdout_members"], var_name="part", value_name="n"
    )
    long["part"] = long["part"].map({"exported_members": "exported", "holdout_members": "holdout"})
    chart = (
        alt.Chart(long)
        .mark_bar()
        .encode(
            y=alt.Y("audience_id:N", title="Audience", sort=list(audiences["audience_id"])),
            x=alt.X("n:Q", title="Customers"),
            color=alt.Color("part:N", title=None, scale=alt.Scale(domain=["exported", "holdout"])),
            tooltip=["audience_id", "part", "n"],
        )
        .properties(height=40 * len(audiences) + 40)
    )
    st.altair_chart(chart, width="stretch")
    show_table(audiences.drop(columns=["purpose", "rule"]).set_index("audience_id"), "loop-audiences", index=True)
    with st.expander("What each audience is for and who is in it"):
        for _, row in audiences.iterrows():
            st.markdown(f"**{row['name']}** ({row['audience_id']}): {row['purpose']}  \n*Rule:* {row['rule']}")


#: The page's sections, one shown at a time (drawing both at once takes over 2 s to load); the chosen one is in the
#: address (``?section=actions``).
SECTIONS = {"audiences": "Audiences", "actions": "Actions and their outcomes"}


def render() -> None:
    """The Loop page."""
    header("actions", "audiences", "action_outcomes")
    st.title("Loop")
    st.caption(
        "What the loop did with the data: the audiences it exported (with holdouts) and the product signals it "
        "sent, and what each changed, measured the same way every cycle."
    )
    section = choose_section(SECTIONS, "loop-section")
    if section == "audiences":
        audiences_section()
    else:
        actions_section()


def actions_section() -> None:
    """What the loop did, filtered, and what each action changed."""
    options = query(OPTIONS_SQL).iloc[0]
    verdicts = query(VERDICTS_SQL).iloc[0]["verdicts"]
    cycles_known = [pd.Timestamp(day).date() for day in (options["cycles"] if options["cycles"] is not None else [])]
    st.subheader("Actions and their outcomes")
    cycle_column, kind_column, verdict_column = st.columns(3)
    cycles = cycle_column.multiselect(
        "Cycle", cycles_known, key="loop-cycle", placeholder="Every cycle", format_func=lambda day: day.isoformat()
    )
    kinds = kind_column.multiselect(
        "Kind of action",
        list(options["kinds"]) if options["kinds"] is not None else [],
        key="loop-kind",
        placeholder="Every kind",
    )
    chosen_verdicts = verdict_column.multiselect(
        "Verdict", list(verdicts) if verdicts is not None else [], key="loop-verdict", placeholder="Every verdict"
    )
    params = {"cycles": list(cycles), "kinds": list(kinds)}

    actions = query(ACTIONS_SQL, params)
    with st.container(key="loop-actions"):
        st.markdown(f"**Actions taken**: {len(actions)}")
        st.dataframe(
            actions,
            hide_index=True,
            width="stretch",
            column_config={"cycle_date": st.column_config.DateColumn(), "as_of": st.column_config.DateColumn()},
        )

    outcomes = query(OUTCOMES_SQL, {**params, "verdicts": list(chosen_verdicts)})
    st.markdown(f"**Outcomes**: {len(outcomes)}")
    st.caption(
        "difference = the cohort's rate minus its comparison's (the holdout, or for signals the span before the "
        "release), with its 95 % interval; nothing is claimed while either side has fewer than 10."
    )
    measured = outcomes.dropna(subset=["difference"])
    if not measured.empty:
        measured = measured.assign(outcome=measured["action_id"] + " · " + measured["metric"])
        base = alt.Chart(measured).encode(y=alt.Y("outcome:N", title=None, sort=None, axis=alt.Axis(labelLimit=420)))
        chart = (
            base.mark_rule().encode(
                x=alt.X("difference_low:Q", title="Difference (cohort - comparison)"), x2="difference_high:Q"
            )
            + base.mark_point(filled=True, size=70).encode(
                x="difference:Q",
                color=alt.Color("verdict:N", scale=VERDICT_COLOURS),
                tooltip=[
                    "action_id",
                    "metric",
                    "comparison",
                    "difference",
                    "difference_low",
                    "difference_high",
                    "verdict",
                ],
            )
            + alt.Chart(pd.DataFrame({"zero": [0]})).mark_rule(strokeDash=[4, 4]).encode(x="zero:Q")
        ).properties(height=26 * len(measured) + 40)
        st.altair_chart(chart, width="stretch")
    with st.container(key="loop-outcomes"):
        st.markdown(f"Outcomes shown: {len(outcomes)}")
        st.dataframe(outcomes, hide_index=True, width="stretch")
