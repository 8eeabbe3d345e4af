-- Multi-touch attribution: one row per conversion, attribution model and credited touch. A conversion's path is its
-- customer's touches (int_touches) with touched_at in [converted_at - attribution_lookback_days, converted_at],
-- ordered by (touched_at, touch_id). Credits by model (n touches in the path):
--   first_touch      the first touch gets 1;
--   last_touch       the last touch gets 1;
--   last_non_direct  the last touch whose channel is not Direct gets 1 (all Direct: the last touch);
--   linear           each touch gets 1 / n;
--   position_based   n = 1: 1; n = 2: 0.5 each; n >= 3: 0.4 to the first and the last, 0.2 / (n - 2) to each other.
-- Credits are doubles and never rounded; revenue_credit = credit * the conversion's revenue, so per conversion and
-- model the credits sum to 1 and the revenue credits to the revenue (test credits_reconcile). A conversion without a
-- touch in the window is direct / none: one row per model without a touch, credit 1 (counted, never lost).
--
-- Incremental (macros/attribution/incremental_attribution.sql): a build recomputes only the conversions of the
-- customers whose touches or conversions changed (int_attribution_scope), from the earliest change on, and
-- replaces their credit rows from then on (custom strategy `reattribute`); everything when the lookback, the channel
-- groups or the campaign catalog changed. `loop run --full-refresh` recomputes every conversion.
--
-- One pass over the (conversion, touch) pairs: the path order, its length and its last non-direct touch are window
-- functions over each conversion's touches (no framed window), and each pair yields only the models crediting it
-- (no cross join with every model then a filter).
-- depends_on: {{ ref('int_attribution_scope') }}

{{ config(
    materialized='incremental',
    incremental_strategy='reattribute',
    reattribute_column='converted_at',
    on_schema_change='fail',
    post_hook="{{ record_attribution_build() }}",
) }}

{%- set redo = attribution_redo() %}
{%- set lookback = "to_hours(24 * " ~ var('attribution_lookback_days') ~ ")" %}

with

{% if redo == 'scope' %}

    attribution_scope as (  -- noqa: ST03

        {{ attribution_pending_scope() }}

    ),

{% endif %}

conversions as (

    -- numbered: a path is a window partition, and an integer partition key sorts much faster than the id
    select
        conversions.*,
        row_number() over () as conversion_number

    from {{ ref('int_conversions') }} as conversions
    {% if redo == 'scope' %}
        inner join attribution_scope
            on
                conversions.customer_id = attribution_scope.customer_id
                and conversions.converted_at >= attribution_scope.reattribute_from
    {% endif %}

),

touches as (

    -- the touches those conversions' windows can reach
    select touches.*

    from {{ ref('int_touches') }} as touches
    {% if redo == 'scope' %}
        inner join attribution_scope
            on
                touches.customer_id = attribution_scope.customer_id
                and touches.touched_at >= attribution_scope.reattribute_from - {{ lookback }}
    {% endif %}

),

paths as (

    -- a conversion without any touch in its window keeps one row, without a touch (path_length 0)
    select
        conversions.conversion_id,
        conversions.conversion_kind,
        conversions.customer_id,
        conversions.converted_at,
        conversions.revenue,
        touches.touch_id,
        touches.touched_at,
        touches.touch_kind,
        touches.campaign_id,
        case when touches.touch_id is null then '(direct) / (none)' else touches.channel end as channel,
        row_number() over (
            partition by conversions.conversion_number order by touches.touched_at, touches.touch_id
        ) as touch_position,
        count(touches.touch_id) over whole_path as path_length,
        -- the last touch whose channel is not Direct, in path order (null: every touch is Direct)
        struct_extract(
            max({ 'touched_at': touches.touched_at, 'touch_id': touches.touch_id })
            filter (where not touches.is_direct) over whole_path,
            'touch_id'
        ) as last_non_direct_touch_id

    from conversions
    left join touches
        on
            conversions.customer_id = touches.customer_id
            and touches.touched_at <= conversions.converted_at
            -- whole days of 24 hours, whatever the session time zone
            and touches.touched_at >= conversions.converted_at - {{ lookback }}
    window whole_path as (partition by conversions.conversion_number)

),

modelled as (

    -- the models crediting each row: all of them for direct / none; linear and position-based credit every touch,
    -- the others one touch each
    select
        *,
        unnest(
            case
                when path_length = 0 then {{ attribution_model_names() | list }}
                else list_concat(
                    case when touch_position = 1 then ['first_touch'] else [] end,
                    case when touch_position = path_length then ['last_touch'] else [] end,
                    case
                        when
                            touch_id = last_non_direct_touch_id
                            or (last_non_direct_touch_id is null and touch_position = path_length)
                            then ['last_non_direct']
                        else []
                    end,
                    ['linear', 'position_based']
                )
            end
        ) as model  -- noqa: RF04

    from paths

),

credited as (

    select
        *,
        case
            when path_length = 0 then cast(1 as double)
            when model in ('first_touch', 'last_touch', 'last_non_direct') then cast(1 as double)
            when model = 'linear' then cast(1 as double) / path_length
            when model = 'position_based'
                then
                    case
                        when path_length = 1 then cast(1 as double)
                        when path_length = 2 then cast(0.5 as double)
                        when touch_position in (1, path_length) then cast(0.4 as double)
                        else cast(0.2 as double) / (path_length - 2)
                    end
        end as credit

    from modelled

)

select
    conversion_id,
    conversion_kind,
    customer_id,
    converted_at,
    model,
    touch_id,
    touched_at,
    touch_kind,
    campaign_id,
    channel,
    credit,
    credit * cast(revenue as double) as revenue_credit,
    revenue

from credited
