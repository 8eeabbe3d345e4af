-- The attribution scope (macros/attribution/incremental_attribution.sql): an append-only log where every build
-- writes, for each customer whose touches or conversions changed since the credits were last computed, the time
-- from which that customer's conversions must be credited again. conversion_credits and int_attribution_inputs
-- read the entries newer than their own last build.
--
-- What changed is found by comparing the touches and conversions as of this build (int_touches, int_conversions)
-- with those the credits were computed from (int_attribution_inputs), row by row on every column the credits
-- read: a row on one side only or different on the two sides is a change, at its time, for its customer, on each
-- side (a session re-stitched to another customer changes both customers' paths; a conversion that moved, both
-- its old and its new time). A customer's entry is the earliest of its changes: a conversion before it cannot
-- have changed (its window ends at the conversion).
--
-- Each build also writes one row without a customer carrying the inputs fingerprint (the lookback, the channel
-- groups, the campaign catalog: macro attribution_inputs_fingerprint); a model whose last build saw another
-- fingerprint recomputes everything. That row asks for everything (reattribute_from '-infinity') when there is
-- nothing to compare with (the first build) or the fingerprint changed since the previous build (no comparison is
-- made then). A full refresh (`loop run --full-refresh`) starts the log over.
-- depends_on: {{ ref('int_touches') }}, {{ ref('int_conversions') }}

{{ config(materialized='incremental', incremental_strategy='append', on_schema_change='fail') }}

{%- set previous = attribution_previous_inputs() %}

with

{% if previous is not none %}

    current_inputs as (

        {{ attribution_inputs() }}

    ),

    changes as materialized (

        select
            current_inputs.customer_id as current_customer_id,
            current_inputs.occurred_at as current_at,
            previous_inputs.customer_id as previous_customer_id,
            previous_inputs.occurred_at as previous_at

        from current_inputs
        full join {{ previous }} as previous_inputs
            on
                current_inputs.input_id = previous_inputs.input_id
                and current_inputs.is_conversion = previous_inputs.is_conversion
        where
            current_inputs.input_id is null
            or previous_inputs.input_id is null
            or current_inputs.customer_id is distinct from previous_inputs.customer_id
            or current_inputs.occurred_at is distinct from previous_inputs.occurred_at
            or current_inputs.kind is distinct from previous_inputs.kind
            or current_inputs.campaign_id is distinct from previous_inputs.campaign_id
            or current_inputs.channel is distinct from previous_inputs.channel
            or current_inputs.is_direct is distinct from previous_inputs.is_direct
            or current_inputs.revenue is distinct from previous_inputs.revenue

    ),

    changed as (

        select
            current_customer_id as customer_id,
            current_at as changed_at

        from changes
        where current_customer_id is not null

        union all

        select
            previous_customer_id as customer_id,
            previous_at as changed_at

        from changes
        where previous_customer_id is not null

    ),

    entries as (

        select
            customer_id,
            min(changed_at) as reattribute_from

        from changed
        group by customer_id

    ),

{% else %}

    entries as (

        -- nothing to compare with: the build's row asks for everything
        select
            cast(null as varchar) as customer_id,
            cast(null as timestamptz) as reattribute_from

        where false

    ),

{% endif %}

build_row as (

    -- the inputs fingerprint; everything when there is nothing to compare with
    select
        cast(null as varchar) as customer_id,
        {% if previous is none %}cast('-infinity' as timestamptz){% else %}cast(null as timestamptz){% endif %}
            as reattribute_from,
        {{ attribution_inputs_fingerprint() }} as inputs_fingerprint

)

select
    {{ build_started_at() }} as scoped_at,
    customer_id,
    reattribute_from,
    cast(null as varchar) as inputs_fingerprint

from entries

union all

select
    {{ build_started_at() }} as scoped_at,
    customer_id,
    reattribute_from,
    inputs_fingerprint

from build_row
