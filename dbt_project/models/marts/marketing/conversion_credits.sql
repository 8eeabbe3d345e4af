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

with

conversions as (

    select * from {{ ref('int_conversions') }}

),

touches as (

    select * from {{ ref('int_touches') }}

),

attribution_models as (

    {{ attribution_models() }}

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
        touches.is_direct,
        row_number() over path_order as touch_position,
        count(touches.touch_id) over (partition by conversions.conversion_id) as path_length

    from conversions
    left join touches
        on
            conversions.customer_id = touches.customer_id
            and touches.touched_at <= conversions.converted_at
            -- whole days of 24 hours, whatever the session time zone
            and touches.touched_at >= conversions.converted_at - to_hours(24 * {{ var('attribution_lookback_days') }})
    window path_order as (partition by conversions.conversion_id order by touches.touched_at, touches.touch_id)

),

positioned as (

    select
        *,
        coalesce(
            max(case when not is_direct then touch_position end) over (partition by conversion_id),
            path_length
        ) as last_non_direct_position

    from paths

),

credited as (

    select
        positioned.*,
        attribution_models.model,
        case
            when positioned.path_length = 0 then cast(1 as double)
            when attribution_models.model = 'first_touch' then cast(positioned.touch_position = 1 as double)
            when attribution_models.model = 'last_touch'
                then cast(positioned.touch_position = positioned.path_length as double)
            when attribution_models.model = 'last_non_direct'
                then cast(positioned.touch_position = positioned.last_non_direct_position as double)
            when attribution_models.model = 'linear' then cast(1 as double) / positioned.path_length
            when attribution_models.model = 'position_based'
                then
                    case
                        when positioned.path_length = 1 then cast(1 as double)
                        when positioned.path_length = 2 then cast(0.5 as double)
                        when positioned.touch_position in (1, positioned.path_length) then cast(0.4 as double)
                        else cast(0.2 as double) / (positioned.path_length - 2)
                    end
        end as credit

    from positioned
    cross join attribution_models

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
where credit > 0
