-- The cycle scorecard, per campaign and attribution model: what the campaign cost and brought (campaign_attribution,
-- not recomputed), then what the customers it acquired lived in their first scorecard_window_days days (errors,
-- p95 latency and drop-off, overall and in the product areas its promise depends on) and said (NPS, CSAT, tickets),
-- beside the platform's figures for the same area and period. A promise-kept score ranks the campaigns within each
-- model; a campaign whose promise area does clearly worse than the platform is flagged, with the reason in one
-- sentence. Formula, flag rule and window: the model's YAML description; their settings: dbt_project.yml vars.
--
-- A customer's acquisition is their sign-up conversion, or their first purchase when they never signed up; under a
-- model, the campaign's customers are those whose acquisition credits it, each weighted by that credit (a campaign
-- credited on several touches of the path sums them). Their window: the sessions that ended at or after the
-- acquisition (the session it happened in counts whole) and started before acquisition + N days; the feedback
-- they gave in [acquisition, acquisition + N days). The platform: every known customer's sessions and feedback from
-- the campaign's start date to the as-of date.

{%- set window_hours = 24 * var('scorecard_window_days') %}

with

campaigns as (

    select
        campaign_id,
        campaign_name,
        channel,
        promise,
        promise_areas,
        start_date

    from {{ ref('stg_marketing__campaigns') }}

),

attribution as (

    select * from {{ ref('campaign_attribution') }}
    where campaign_id is not null

),

credits as (

    select * from {{ ref('conversion_credits') }}

),

customer_sessions as (

    select
        session_id,
        customer_id,
        started_at,
        ended_at,
        errors > 0 as had_error,
        purchased

    from {{ ref('int_sessions') }}
    where customer_id is not null

),

events as (

    select
        session_id,
        session_event_index,
        event_name,
        product_area,
        latency_ms

    from {{ ref('int_events_sessionized') }}
    where stitched_customer_id is not null

),

feedback as (

    select * from {{ ref('feedback') }}
    where customer_id is not null

),

landing_areas as (

    -- the product area of the page the campaign's sessions land on most (ties: the first area by name)
    select
        campaign_id,
        landing_product_area as landing_area

    from {{ ref('experience_daily') }}
    where campaign_id is not null and landing_product_area is not null
    group by campaign_id, landing_product_area
    qualify row_number() over (partition by campaign_id order by sum(sessions) desc, landing_product_area asc) = 1

),

promise_areas as (

    -- the areas the promise depends on: the catalog's promise_areas and the campaign's landing area, where the
    -- promise is first put to the test
    select distinct
        campaigns.campaign_id,
        campaigns.start_date,
        unnest(list_append(campaigns.promise_areas, landing_areas.landing_area)) as product_area

    from campaigns
    left join landing_areas on campaigns.campaign_id = landing_areas.campaign_id

),

-- what each session lived in each product area it reached
area_visits as (

    select
        session_id,
        product_area,
        bool_or(event_name = 'Error Occurred') as hit_error,
        coalesce(bool_or(latency_ms >= {{ var('slow_page_ms') }}), false) as hit_slow,
        max(session_event_index) as last_event_index

    from events
    where product_area is not null
    group by session_id, product_area

),

session_areas as (

    select
        area_visits.session_id,
        area_visits.product_area,
        customer_sessions.started_at,
        area_visits.hit_error,
        area_visits.hit_slow,
        -- dropped off here: the last area the session visited, and the session completed no order
        (
            area_visits.last_event_index = max(area_visits.last_event_index) over (partition by area_visits.session_id)
            and not customer_sessions.purchased
        ) as dropped_off

    from area_visits
    inner join customer_sessions on area_visits.session_id = customer_sessions.session_id

),

area_latencies as (

    select
        events.session_id,
        events.product_area,
        events.latency_ms,
        customer_sessions.started_at

    from events
    inner join customer_sessions on events.session_id = customer_sessions.session_id
    where events.latency_ms is not null

),

signed_up as (

    select distinct customer_id from credits
    where conversion_kind = 'sign_up'

),

acquisitions as (

    select
        credits.model,
        credits.campaign_id,
        credits.customer_id,
        credits.converted_at as acquired_at,
        -- exact decimals: a double sum depends on the order rows arrive in; every sum of these credits is reproducible
        sum(cast(credits.credit as decimal(38, 18))) as credit

    from credits
    left join signed_up on credits.customer_id = signed_up.customer_id
    where
        credits.campaign_id is not null
        and (
            credits.conversion_kind = 'sign_up'
            or (credits.conversion_kind = 'first_purchase' and signed_up.customer_id is null)
        )
    group by credits.model, credits.campaign_id, credits.customer_id, credits.converted_at
    having sum(credits.credit) > 0

),

window_sessions as (

    select
        acquisitions.model,
        acquisitions.campaign_id,
        acquisitions.credit,
        customer_sessions.session_id,
        customer_sessions.had_error

    from acquisitions
    inner join customer_sessions
        on
            acquisitions.customer_id = customer_sessions.customer_id
            and acquisitions.acquired_at <= customer_sessions.ended_at
            and customer_sessions.started_at < acquisitions.acquired_at + to_hours({{ window_hours }})

),

acquired as (

    select
        model,
        campaign_id,
        sum(credit) as attributed_customers

    from acquisitions
    group by model, campaign_id

),

lived as (

    select
        model,
        campaign_id,
        sum(credit) as first_days_sessions,
        coalesce(sum(credit) filter (where had_error), 0) as first_days_error_sessions

    from window_sessions
    group by model, campaign_id

),

lived_latency as (

    select
        window_sessions.model,
        window_sessions.campaign_id,
        quantile_cont(area_latencies.latency_ms, 0.95) as first_days_p95_latency_ms

    from window_sessions
    inner join area_latencies on window_sessions.session_id = area_latencies.session_id
    group by window_sessions.model, window_sessions.campaign_id

),

-- the campaign's customers in each of its promise areas
area_lived as (

    select
        window_sessions.model,
        window_sessions.campaign_id,
        session_areas.product_area,
        sum(window_sessions.credit) as area_sessions,
        coalesce(sum(window_sessions.credit) filter (where session_areas.hit_error), 0) as area_error_sessions,
        coalesce(sum(window_sessions.credit) filter (where session_areas.hit_slow), 0) as area_slow_sessions,
        coalesce(sum(window_sessions.credit) filter (where session_areas.dropped_off), 0) as area_drop_offs

    from window_sessions
    inner join session_areas on window_sessions.session_id = session_areas.session_id
    inner join promise_areas
        on
            window_sessions.campaign_id = promise_areas.campaign_id
            and session_areas.product_area = promise_areas.product_area
    group by window_sessions.model, window_sessions.campaign_id, session_areas.product_area

),

area_lived_latency as (

    select
        window_sessions.model,
        window_sessions.campaign_id,
        area_latencies.product_area,
        quantile_cont(area_latencies.latency_ms, 0.95) as area_p95_latency_ms

    from window_sessions
    inner join area_latencies on window_sessions.session_id = area_latencies.session_id
    inner join promise_areas
        on
            window_sessions.campaign_id = promise_areas.campaign_id
            and area_latencies.product_area = promise_areas.product_area
    group by window_sessions.model, window_sessions.campaign_id, area_latencies.product_area

),

-- all promise areas together: a session counts once, with an error or a drop-off in any of them
promise_sessions as (

    select
        window_sessions.model,
        window_sessions.campaign_id,
        window_sessions.session_id,
        any_value(window_sessions.credit) as credit,
        bool_or(session_areas.hit_error) as hit_error,
        bool_or(session_areas.hit_slow) as hit_slow,
        bool_or(session_areas.dropped_off) as dropped_off

    from window_sessions
    inner join session_areas on window_sessions.session_id = session_areas.session_id
    inner join promise_areas
        on
            window_sessions.campaign_id = promise_areas.campaign_id
            and session_areas.product_area = promise_areas.product_area
    group by window_sessions.model, window_sessions.campaign_id, window_sessions.session_id

),

promise_lived as (

    select
        model,
        campaign_id,
        sum(credit) as promise_area_sessions,
        coalesce(sum(credit) filter (where hit_error), 0) / sum(credit) as promise_area_error_rate,
        coalesce(sum(credit) filter (where hit_slow), 0) / sum(credit) as promise_area_slow_rate,
        coalesce(sum(credit) filter (where dropped_off), 0) / sum(credit) as promise_area_drop_off_rate

    from promise_sessions
    group by model, campaign_id

),

promise_lived_latency as (

    select
        window_sessions.model,
        window_sessions.campaign_id,
        quantile_cont(area_latencies.latency_ms, 0.95) as promise_area_p95_latency_ms

    from window_sessions
    inner join area_latencies on window_sessions.session_id = area_latencies.session_id
    inner join promise_areas
        on
            window_sessions.campaign_id = promise_areas.campaign_id
            and area_latencies.product_area = promise_areas.product_area
    group by window_sessions.model, window_sessions.campaign_id

),

-- the platform: every known customer, in the same area, from the campaign's start to the as-of date
platform_areas as (

    select
        promise_areas.campaign_id,
        promise_areas.product_area,
        count(*) as platform_sessions,
        count(*) filter (where session_areas.hit_error) / count(*) as platform_error_rate,
        count(*) filter (where session_areas.hit_slow) / count(*) as platform_slow_rate,
        count(*) filter (where session_areas.dropped_off) / count(*) as platform_drop_off_rate

    from promise_areas
    inner join session_areas
        on
            promise_areas.product_area = session_areas.product_area
            and {{ business_day('session_areas.started_at') }} >= promise_areas.start_date
    group by promise_areas.campaign_id, promise_areas.product_area

),

platform_latency as (

    select
        promise_areas.campaign_id,
        promise_areas.product_area,
        quantile_cont(area_latencies.latency_ms, 0.95) as platform_p95_latency_ms

    from promise_areas
    inner join area_latencies
        on
            promise_areas.product_area = area_latencies.product_area
            and {{ business_day('area_latencies.started_at') }} >= promise_areas.start_date
    group by promise_areas.campaign_id, promise_areas.product_area

),

-- each promise area beside the platform, and how far worse it is (the largest of its three ratios)
area_compared as (

    select
        area_lived.model,
        area_lived.campaign_id,
        area_lived.product_area,
        area_lived.area_sessions,
        area_lived.area_error_sessions / area_lived.area_sessions as area_error_rate,
        area_lived.area_slow_sessions / area_lived.area_sessions as area_slow_rate,
        area_lived.area_drop_offs / area_lived.area_sessions as area_drop_off_rate,
        area_lived_latency.area_p95_latency_ms,
        platform_areas.platform_error_rate,
        platform_areas.platform_slow_rate,
        platform_areas.platform_drop_off_rate,
        platform_latency.platform_p95_latency_ms

    from area_lived
    left join area_lived_latency
        on
            area_lived.model = area_lived_latency.model
            and area_lived.campaign_id = area_lived_latency.campaign_id
            and area_lived.product_area = area_lived_latency.product_area
    left join platform_areas
        on
            area_lived.campaign_id = platform_areas.campaign_id
            and area_lived.product_area = platform_areas.product_area
    left join platform_latency
        on
            area_lived.campaign_id = platform_latency.campaign_id
            and area_lived.product_area = platform_latency.product_area

),

area_findings as (

    select
        *,
        area_sessions >= {{ var('scorecard_flag_min_sessions') }}
        and area_error_rate >= {{ var('scorecard_flag_error_ratio') }} * platform_error_rate
        and area_error_rate - platform_error_rate >= {{ var('scorecard_flag_error_points') }} as errors_flagged,
        area_sessions >= {{ var('scorecard_flag_min_sessions') }}
        and area_slow_rate >= {{ var('scorecard_flag_slow_ratio') }} * platform_slow_rate
        and area_slow_rate - platform_slow_rate >= {{ var('scorecard_flag_slow_points') }} as slow_flagged,
        area_sessions >= {{ var('scorecard_flag_min_sessions') }}
        and area_drop_off_rate >= {{ var('scorecard_flag_drop_off_ratio') }} * platform_drop_off_rate
        and area_drop_off_rate - platform_drop_off_rate
        >= {{ var('scorecard_flag_drop_off_points') }} as drop_off_flagged,
        -- how many times the platform's share (floored at 1 point, so that a platform at 0 does not divide by 0)
        area_error_rate / greatest(platform_error_rate, 0.01) as error_ratio,
        area_slow_rate / greatest(platform_slow_rate, 0.01) as slow_ratio,
        area_drop_off_rate / greatest(platform_drop_off_rate, 0.01) as drop_off_ratio

    from area_compared

),

area_severities as (

    select
        *,
        greatest(
            case when errors_flagged then error_ratio else 0 end,
            case when slow_flagged then slow_ratio else 0 end,
            case when drop_off_flagged then drop_off_ratio else 0 end
        ) as flagged_ratio

    from area_findings

),

worst_areas as (

    -- the area to name: the flagged finding furthest above the platform, else the area furthest above it
    select
        *,
        case
            when flagged_ratio = 0 then null
            when errors_flagged and error_ratio = flagged_ratio then 'error'
            when slow_flagged and slow_ratio = flagged_ratio then 'slow'
            else 'drop_off'
        end as finding

    from area_severities
    qualify row_number() over (
        partition by model, campaign_id
        order by
            flagged_ratio desc,
            greatest(error_ratio, slow_ratio, drop_off_ratio) desc,
            product_area asc
    ) = 1

),

said as (

    select
        acquisitions.model,
        acquisitions.campaign_id,
        sum(acquisitions.credit) filter (where feedback.kind = 'nps') as nps_responses,
        sum(acquisitions.credit) filter (where feedback.nps_category = 'promoter') as nps_promoters,
        sum(acquisitions.credit) filter (where feedback.nps_category = 'detractor') as nps_detractors,
        sum(acquisitions.credit) filter (where feedback.kind = 'csat' and feedback.score is not null)
            as csat_responses,
        sum(acquisitions.credit * feedback.score) filter (where feedback.kind = 'csat' and feedback.score is not null)
            as csat_points,
        sum(acquisitions.credit) filter (where feedback.kind = 'ticket') as tickets

    from acquisitions
    inner join feedback
        on
            acquisitions.customer_id = feedback.customer_id
            and acquisitions.acquired_at <= feedback.submitted_at
            and feedback.submitted_at < acquisitions.acquired_at + to_hours({{ window_hours }})
    group by acquisitions.model, acquisitions.campaign_id

),

platform_said as (

    select
        campaigns.campaign_id,
        100.0 * (
            count(*) filter (where feedback.nps_category = 'promoter')
            - count(*) filter (where feedback.nps_category = 'detractor')
        ) / nullif(count(*) filter (where feedback.kind = 'nps'), 0) as platform_nps

    from campaigns
    inner join feedback on {{ business_day('feedback.submitted_at') }} >= campaigns.start_date
    group by campaigns.campaign_id

),

joined as (

    select
        attribution.campaign_id,
        campaigns.campaign_name,
        campaigns.channel,
        campaigns.promise,
        campaigns.promise_areas,
        landing_areas.landing_area,
        attribution.model,
        attribution.spend,
        attribution.attributed_sign_ups,
        attribution.attributed_first_purchases,
        attribution.attributed_purchases,
        attribution.attributed_revenue,
        attribution.attributed_roas,
        attribution.attributed_cac,
        cast(coalesce(acquired.attributed_customers, 0) as double) as attributed_customers,
        cast(coalesce(lived.first_days_sessions, 0) as double) as first_days_sessions,
        cast(
            lived.first_days_error_sessions / nullif(lived.first_days_sessions, 0) as double
        ) as first_days_error_rate,
        lived_latency.first_days_p95_latency_ms,
        cast(coalesce(promise_lived.promise_area_sessions, 0) as double) as promise_area_sessions,
        cast(promise_lived.promise_area_error_rate as double) as promise_area_error_rate,
        cast(promise_lived.promise_area_slow_rate as double) as promise_area_slow_rate,
        promise_lived_latency.promise_area_p95_latency_ms,
        cast(promise_lived.promise_area_drop_off_rate as double) as promise_area_drop_off_rate,
        worst_areas.product_area as worst_area,
        worst_areas.finding,
        cast(worst_areas.area_error_rate as double) as worst_area_error_rate,
        worst_areas.platform_error_rate,
        cast(worst_areas.area_slow_rate as double) as worst_area_slow_rate,
        worst_areas.platform_slow_rate,
        cast(worst_areas.area_drop_off_rate as double) as worst_area_drop_off_rate,
        worst_areas.platform_drop_off_rate,
        worst_areas.area_p95_latency_ms as worst_area_p95_latency_ms,
        worst_areas.platform_p95_latency_ms,
        cast(coalesce(said.nps_responses, 0) as double) as nps_responses,
        cast(
            100 * (coalesce(said.nps_promoters, 0) - coalesce(said.nps_detractors, 0)) / said.nps_responses as double
        ) as nps,
        platform_said.platform_nps,
        cast(coalesce(said.csat_responses, 0) as double) as csat_responses,
        cast(said.csat_points / said.csat_responses as double) as csat,
        cast(coalesce(said.tickets, 0) as double) as tickets

    from attribution
    inner join campaigns on attribution.campaign_id = campaigns.campaign_id
    left join landing_areas on attribution.campaign_id = landing_areas.campaign_id
    left join acquired on attribution.campaign_id = acquired.campaign_id and attribution.model = acquired.model
    left join lived on attribution.campaign_id = lived.campaign_id and attribution.model = lived.model
    left join lived_latency
        on attribution.campaign_id = lived_latency.campaign_id and attribution.model = lived_latency.model
    left join promise_lived
        on attribution.campaign_id = promise_lived.campaign_id and attribution.model = promise_lived.model
    left join promise_lived_latency
        on
            attribution.campaign_id = promise_lived_latency.campaign_id
            and attribution.model = promise_lived_latency.model
    left join worst_areas on attribution.campaign_id = worst_areas.campaign_id and attribution.model = worst_areas.model
    left join said on attribution.campaign_id = said.campaign_id and attribution.model = said.model
    left join platform_said on attribution.campaign_id = platform_said.campaign_id

),

scored as (

    select
        *,
        case
            when attributed_customers > 0
                then
                    round(
                        100 * (
                            {{ var('scorecard_weight_errors') }} * coalesce(1 - promise_area_error_rate, 0.5)
                            + {{ var('scorecard_weight_slow') }} * coalesce(1 - promise_area_slow_rate, 0.5)
                            + {{ var('scorecard_weight_latency') }} * coalesce(
                                greatest(0, least(
                                    1,
                                    ({{ var('scorecard_latency_bad_ms') }} - promise_area_p95_latency_ms)
                                    / ({{ var('scorecard_latency_bad_ms') }} - {{ var('scorecard_latency_good_ms') }})
                                )),
                                0.5
                            )
                            + {{ var('scorecard_weight_drop_off') }} * coalesce(1 - promise_area_drop_off_rate, 0.5)
                            + {{ var('scorecard_weight_nps') }} * coalesce((nps + 100) / 200, 0.5)
                        ),
                        1
                    )
        end as promise_kept_score,
        finding is not null
        or (
            nps_responses >= {{ var('scorecard_flag_min_nps_responses') }}
            and nps < {{ var('scorecard_flag_nps_below') }}
        ) as flagged

    from joined

)

select
    campaign_id,
    campaign_name,
    channel,
    promise,
    promise_areas,
    landing_area,
    model,
    spend,
    attributed_sign_ups,
    attributed_first_purchases,
    attributed_purchases,
    attributed_revenue,
    attributed_roas,
    attributed_cac,
    attributed_customers,
    first_days_sessions,
    first_days_error_rate,
    first_days_p95_latency_ms,
    promise_area_sessions,
    promise_area_error_rate,
    promise_area_slow_rate,
    promise_area_p95_latency_ms,
    promise_area_drop_off_rate,
    worst_area,
    worst_area_error_rate,
    platform_error_rate,
    worst_area_slow_rate,
    platform_slow_rate,
    worst_area_drop_off_rate,
    platform_drop_off_rate,
    worst_area_p95_latency_ms,
    platform_p95_latency_ms,
    nps_responses,
    nps,
    platform_nps,
    csat_responses,
    csat,
    tickets,
    promise_kept_score,
    row_number() over (
        partition by model order by promise_kept_score desc nulls last, campaign_id asc
    ) as scorecard_rank,
    flagged,
    -- one sentence from the data: the promise, then the worst finding against the platform
    case
        when not flagged then null
        when finding = 'error'
            then
                printf(
                    'promised ''%s''; %d%% of its customers'' %s sessions hit an error (platform %d%%)',
                    promise,
                    cast(round(100 * worst_area_error_rate) as integer),
                    worst_area,
                    cast(round(100 * platform_error_rate) as integer)
                )
        when finding = 'drop_off'
            then
                printf(
                    'promised ''%s''; %d%% of its customers'' %s sessions ended there without an order (platform %d%%)',
                    promise,
                    cast(round(100 * worst_area_drop_off_rate) as integer),
                    worst_area,
                    cast(round(100 * platform_drop_off_rate) as integer)
                )
        when finding = 'slow'
            then
                printf(
                    'promised ''%s''; %d%% of its customers'' %s sessions met a page or call of %d ms or more '
                    || '(platform %d%%)',
                    promise,
                    cast(round(100 * worst_area_slow_rate) as integer),
                    worst_area,
                    {{ var('slow_page_ms') }},
                    cast(round(100 * platform_slow_rate) as integer)
                )
        else printf(
            'promised ''%s''; its customers gave an NPS of %d in their first %d days (platform %d)',
            promise,
            cast(round(nps) as integer),
            {{ var('scorecard_window_days') }},
            cast(round(platform_nps) as integer)
        )
    end as flag_reason

from scored
