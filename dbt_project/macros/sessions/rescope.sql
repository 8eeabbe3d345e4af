{#- Incremental sessions, the way Snowplow's sessions lifecycle manifest works, but exact.

    Every build, `int_sessions_scope` appends the devices whose events changed since the last build (new, late,
    re-landed or removed events) with the point from which their sessions must be recomputed: a cut that no
    session straddles. The incremental session models then recompute, for those devices, everything from that
    point (their "tail") and replace it. Each model keeps its own progress (the `_run_at` of its rows), so a model
    that failed or was skipped in one build catches up with every scope entry it missed in the next. -#}


{#- The devices a model must recompute, and from when: the scope entries newer than the model's last run (an
    earlier point wins; recomputing from an earlier cut is always correct). -#}
{% macro pending_scope(relation) -%}
    select
        device_id,
        min(resessionize_from) as resessionize_from
    from {{ ref('int_sessions_scope') }}
    where
        device_id is not null
        and scoped_at > (select coalesce(max(_run_at), '-infinity'::timestamptz) from {{ relation }})
    group by device_id
{%- endmacro %}


{#- Custom incremental strategy `rescope`: delete the target's rows of the pending devices (all of them, or only
    those at or after the cut when the model sets `rescope_column`), then insert the new rows. The model's rows for
    those devices were computed by the model's SQL from the same pending scope, before anything was deleted. -#}
{% macro get_incremental_rescope_sql(arg_dict) -%}
    {%- set target = arg_dict['target_relation'] -%}
    {%- set column = config.get('rescope_column') -%}
    delete from {{ target }} as target_rows
    using ({{ pending_scope(target) }}) as scope
    where
        target_rows.device_id = scope.device_id
        {%- if column %} and target_rows.{{ column }} >= scope.resessionize_from{% endif %};

    insert into {{ target }} by name
    select * from {{ arg_dict['temp_relation'] }}
{%- endmacro %}


{#- How int_sessions_scope finds what changed, decided before its SQL is written (it reads the database):
    - 'all': every device from its beginning: the session rules changed (or int_session_events is missing);
    - 'appended': landing only appended since the sessions were built (same count and fingerprint of the event
      versions the sessions were built from): the changed events are those landed since `landed_until`;
    - 'diff': anything else (re-landed files, replays, an as-of date bringing older partitions): compare event by
      event.
    Returns {mode, processed (the int_session_events relation or none), landed_until}. -#}
{% macro sessions_scope_state() -%}
    {%- if execute and adapter is defined and is_incremental() -%}
        {%- set processed = adapter.get_relation(
            database=this.database, schema=this.schema, identifier='int_session_events'
        ) -%}
        {%- set rules = run_query(
            "select (" ~ session_rules_fingerprint() ~ ") is not distinct from (select rules_fingerprint from "
            ~ this ~ " where device_id is null order by scoped_at desc limit 1)"
        ) -%}
        {%- if processed is none or not rules.rows[0][0] -%}
            {{ return({'mode': 'all', 'processed': processed, 'landed_until': none}) }}
        {%- endif -%}
        {%- set check = run_query(
            "with processed as (select event_id, landed_at from " ~ processed ~ "), "
            ~ "staged as (select event_id, landed_at from " ~ ref('stg_experience__events') ~ "), "
            ~ "mark as (select coalesce(max(landed_at), '-infinity'::timestamptz) as until from processed), "
            ~ "known as (select staged.* from staged, mark where staged.landed_at <= mark.until) "
            ~ "select (select count(*) from processed) = (select count(*) from known) "
            ~ "and (select coalesce(sum(hash(event_id, landed_at)::hugeint), 0) from processed) "
            ~ "= (select coalesce(sum(hash(event_id, landed_at)::hugeint), 0) from known), "
            ~ "(select until::varchar from mark)"
        ) -%}
        {{ return({
            'mode': 'appended' if check.rows[0][0] else 'diff',
            'processed': processed,
            'landed_until': check.rows[0][1],
        }) }}
    {%- endif -%}
    {{ return({'mode': 'all', 'processed': none, 'landed_until': none}) }}
{%- endmacro %}


{#- The build a row was written by (dbt's run_started_at), as a timestamp: the incremental models' progress. -#}
{% macro build_started_at() -%}
    cast('{{ run_started_at }}' as timestamptz)
{%- endmacro %}
