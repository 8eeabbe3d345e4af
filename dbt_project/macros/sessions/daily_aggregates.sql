{#- Incremental daily aggregates over the sessions (experience_daily, page_performance).

    A day's figures change only when a session of that day changes, and sessions change only where the sessions
    lifecycle scope (int_sessions_scope) says: for each device, from its cut on. So a build recomputes the days from
    the business day of the earliest cut it has not processed yet (the scope entries newer than the aggregate's
    last build), and keeps the days before as they were (strategy `redo_days`).

    Each aggregate records its last build in `intermediate.incremental_builds` (post-hook `record_build`): when it
    was built, the first day it recomputed, and a fingerprint of what decides its rows besides the sessions (the business time zone, the campaign
    catalog that names the sessions' campaigns). If that fingerprint changed, or the aggregate has no recorded
    build, every day is recomputed. An aggregate that failed or was skipped in one build catches up in the next:
    its pending scope still holds the entries it missed. -#}


{#- What decides a daily aggregate's rows besides the sessions: the business time zone and the campaign catalog. -#}
{% macro daily_aggregate_inputs_fingerprint() -%}
    md5(
        '{{ var("business_timezone") | replace("'", "''") }}|'
        || (
            select coalesce(string_agg(distinct campaign_id, ',' order by campaign_id), '')
            from {{ ref('stg_marketing__campaigns') }}
        )
    )
{%- endmacro %}


{#- The first business day this build of the model must recompute, as text: an ISO date, '-infinity' (every day:
    not incremental, no recorded build, or the inputs fingerprint changed), or none (nothing changed). -#}
{% macro redo_from_day() -%}
    {%- if not execute or not is_incremental() -%}
        {{ return('-infinity') }}
    {%- endif -%}
    {%- set found = run_query(
        "with last_build as (select built_at, inputs_fingerprint from intermediate.incremental_builds "
        ~ "where model = '" ~ this.identifier ~ "') "
        ~ "select case "
        ~ "when not exists (select 1 from last_build) "
        ~ "or (select inputs_fingerprint from last_build) is distinct from (" ~ daily_aggregate_inputs_fingerprint()
        ~ ") then '-infinity' "
        ~ "else (select cast(min(case when resessionize_from = '-infinity'::timestamptz then '-infinity'::date "
        ~ "else " ~ business_day('resessionize_from') ~ " end) as varchar) "
        ~ "from " ~ ref('int_sessions_scope') ~ " "
        ~ "where device_id is not null and scoped_at > (select built_at from last_build)) end"
    ) -%}
    {{ return(found.rows[0][0]) }}
{%- endmacro %}


{#- The condition that keeps the rows of `ts` (a TIMESTAMPTZ) whose business day this build recomputes. The coarse
    bound two days earlier lets DuckDB skip old row groups; the business day decides. -#}
{% macro redo_days_filter(ts, redo) -%}
    {%- if redo is none -%}
        false
    {%- elif redo == '-infinity' -%}
        true
    {%- else -%}
        {{ ts }} >= cast('{{ redo }}' as timestamptz) - interval '2 days'
        and {{ business_day(ts) }} >= cast('{{ redo }}' as date)
    {%- endif -%}
{%- endmacro %}


{#- Custom incremental strategy `redo_days`: delete the target's days from the first one to recompute (config
    `redo_column`, the day column), then insert the recomputed days. -#}
{% macro get_incremental_redo_days_sql(arg_dict) -%}
    {%- set target = arg_dict['target_relation'] -%}
    {%- set redo = redo_from_day() -%}
    {%- if redo is not none %}
        delete from {{ target }}
        where {{ config.require('redo_column') }} >= cast('{{ redo }}' as date);
    {%- endif %}

    insert into {{ target }} by name
    select * from {{ arg_dict['temp_relation'] }}
{%- endmacro %}


{#- Post-hook of a daily aggregate: record this build, the first day it recomputed (null: none) and its inputs
    fingerprint. -#}
{% macro record_build() -%}
    {%- set redo = redo_from_day() -%}
    delete from intermediate.incremental_builds where model = '{{ this.identifier }}';
    insert into intermediate.incremental_builds (model, built_at, recomputed_from, inputs_fingerprint)
    select
        '{{ this.identifier }}',
        {{ build_started_at() }},
        {{ "null" if redo is none else "cast('" ~ redo ~ "' as date)" }},
        {{ daily_aggregate_inputs_fingerprint() }}
{%- endmacro %}
