{#- Incremental attribution, exact, in the spirit of the sessions lifecycle (macros/sessions/rescope.sql).

    A conversion's credits depend only on its own row and on its customer's touches of the lookback window before
    it. So when a touch or a conversion of customer c changes at time t (a new or late touch, a session re-keyed or
    re-stitched to another customer, a conversion added, moved or gone: both its old and its new version count),
    only c's conversions at or after t can change. Every build:
      1. int_attribution_scope compares the touches and conversions as of this build (int_touches, int_conversions)
         with those the credits were last computed from (int_attribution_inputs) and appends, for each customer
         with a difference, the earliest time of it (`reattribute_from`);
      2. int_attribution_inputs replaces those customers' inputs from that time on with the current ones;
      3. conversion_credits deletes those customers' credit rows from that time on and inserts their conversions'
         credits recomputed from that time on (with the touches from the lookback before it).
    Each model keeps its own progress in intermediate.incremental_builds (as the daily aggregates do): the entries
    of the scope newer than its last build are pending, so a model that failed or was skipped in one build catches
    up in the next. Everything is recomputed when the model has no recorded build, when the scope asks for it
    (nothing to compare with, or the inputs fingerprint changed), or when the inputs fingerprint the scope recorded
    (the lookback, the channel groups, the campaign catalog) differs from the model's last build's. -#}


{#- What decides the credits besides the touches and conversions themselves. -#}
{% macro attribution_inputs_fingerprint() -%}
    {%- set attribution_logic_version = '1' -%}
    md5(
        '{{ attribution_logic_version }}|{{ var("attribution_lookback_days") }}|'
        || (
            select coalesce(string_agg(to_json(rules)::varchar, chr(10) order by to_json(rules)::varchar), '')
            from {{ ref('channel_groups') }} as rules
        )
        || '|'
        || (
            select coalesce(string_agg(distinct campaign_id, ',' order by campaign_id), '')
            from {{ ref('stg_marketing__campaigns') }}
        )
    )
{%- endmacro %}


{#- The touches and conversions in one shape: what the credits are computed from, one row each. -#}
{% macro attribution_inputs() -%}
    select
        false as is_conversion,
        touch_id as input_id,
        customer_id,
        touched_at as occurred_at,
        touch_kind as kind,
        campaign_id,
        channel,
        is_direct,
        cast(null as decimal(18, 2)) as revenue
    from {{ ref('int_touches') }}

    union all

    select
        true as is_conversion,
        conversion_id as input_id,
        customer_id,
        converted_at as occurred_at,
        conversion_kind as kind,
        cast(null as varchar) as campaign_id,
        cast(null as varchar) as channel,
        cast(null as boolean) as is_direct,
        revenue
    from {{ ref('int_conversions') }}
{%- endmacro %}


{#- What int_attribution_scope compares the current inputs with: the int_attribution_inputs relation, or none when
    there is nothing to compare with (not incremental, no inputs yet, or the inputs fingerprint changed since the
    scope's previous build: everything is recomputed then). It reads the database, before the scope's SQL is
    written. -#}
{% macro attribution_previous_inputs() -%}
    {%- if execute and adapter is defined and is_incremental() -%}
        {%- set same_inputs = run_query(
            "select (" ~ attribution_inputs_fingerprint() ~ ") is not distinct from (select inputs_fingerprint from "
            ~ this ~ " where customer_id is null order by scoped_at desc limit 1)"
        ) -%}
        {%- if same_inputs.rows[0][0] -%}
            {{ return(adapter.get_relation(
                database=this.database, schema=this.schema, identifier='int_attribution_inputs'
            )) }}
        {%- endif -%}
    {%- endif -%}
    {{ return(none) }}
{%- endmacro %}


{#- The inputs fingerprint of the latest build of the scope (its row without a customer). -#}
{% macro attribution_scope_fingerprint() -%}
    (
        select inputs_fingerprint from {{ ref('int_attribution_scope') }}
        where customer_id is null
        order by scoped_at desc
        limit 1
    )
{%- endmacro %}


{#- How this build of an attribution model (`this`) goes: 'all' (not incremental, no recorded build, the scope asks
    for everything, or the inputs fingerprint changed since the model's last build) or 'scope' (the customers of
    the pending scope only). -#}
{% macro attribution_redo() -%}
    {%- if not execute or not is_incremental() -%}
        {{ return('all') }}
    {%- endif -%}
    {%- set found = run_query(
        "with last_build as (select built_at, inputs_fingerprint from intermediate.incremental_builds "
        ~ "where model = '" ~ this.identifier ~ "') "
        ~ "select not exists (select 1 from last_build) "
        ~ "or (select inputs_fingerprint from last_build) is distinct from " ~ attribution_scope_fingerprint() ~ " "
        ~ "or exists (select 1 from " ~ ref('int_attribution_scope') ~ " where customer_id is null "
        ~ "and reattribute_from = '-infinity'::timestamptz and scoped_at > (select built_at from last_build))"
    ) -%}
    {{ return('all' if found.rows[0][0] else 'scope') }}
{%- endmacro %}


{#- The customers the model `this` must recompute and from when: the scope entries newer than its last build (the
    earliest time wins). Only used when attribution_redo() is 'scope' (there is a recorded build). -#}
{% macro attribution_pending_scope() -%}
    select
        customer_id,
        min(reattribute_from) as reattribute_from
    from {{ ref('int_attribution_scope') }}
    where
        customer_id is not null
        and scoped_at > (
            select built_at from intermediate.incremental_builds where model = '{{ this.identifier }}'
        )
    group by customer_id
{%- endmacro %}


{#- Custom incremental strategy `reattribute`: delete the target's rows of the pending customers at or after their
    `reattribute_from` (config `reattribute_column`, the row's time), or every row when the build recomputes all;
    then insert the recomputed rows. -#}
{% macro get_incremental_reattribute_sql(arg_dict) -%}
    {%- set target = arg_dict['target_relation'] -%}
    {%- if attribution_redo() == 'all' %}
        delete from {{ target }};
    {%- else %}
        delete from {{ target }} as target_rows
        using ({{ attribution_pending_scope() }}) as scope
        where
            target_rows.customer_id = scope.customer_id
            and target_rows.{{ config.require('reattribute_column') }} >= scope.reattribute_from;
    {%- endif %}

    insert into {{ target }} by name
    select * from {{ arg_dict['temp_relation'] }}
{%- endmacro %}


{#- Post-hook of an incremental attribution model: record this build, the first day it recomputed ('-infinity':
    everything, null: nothing) and the inputs fingerprint. Rendered after the insert, before the record changes. -#}
{% macro record_attribution_build() -%}
    {%- set recomputed_from = "cast('-infinity' as date)" -%}
    {%- if execute and attribution_redo() == 'scope' -%}
        {%- set found = run_query(
            "select cast(cast(min(reattribute_from) as date) as varchar) from (" ~ attribution_pending_scope() ~ ")"
        ) -%}
        {%- set day = found.rows[0][0] -%}
        {%- set recomputed_from = "null" if day is none else "cast('" ~ day ~ "' as date)" -%}
    {%- endif -%}
    delete from intermediate.incremental_builds where model = '{{ this.identifier }}';
    insert into intermediate.incremental_builds (model, built_at, recomputed_from, inputs_fingerprint)
    select
        '{{ this.identifier }}',
        {{ build_started_at() }},
        {{ recomputed_from }},
        {{ attribution_scope_fingerprint() }}
{%- endmacro %}
