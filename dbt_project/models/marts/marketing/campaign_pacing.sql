-- One row per campaign and day of its run, up to the as-of date (or the last day with ad performance or a campaign
-- start, when no as-of date is given): spend that day and to date in the reporting currency against the budget
-- expected by then (budget x share of the run elapsed). Days with spend before the start or after the end of the run
-- have rows too (in_run false), so spend_to_date is every euro spent: before the start nothing is expected, after
-- the end the whole budget. Campaigns without an end date have no elapsed share: their expected spend, pacing and
-- status are null. Thresholds: vars pacing_under_below and pacing_over_above.
with

campaigns as (

    select * from {{ ref('stg_marketing__campaigns') }}

),

ad_days as (

    select
        campaign_id,
        performance_date,
        sum(spend) as spend

    from {{ ref('stg_marketing__ad_performance_days') }}
    group by campaign_id, performance_date

),

rates as (

    select * from {{ ref('stg_marketing__currency_rates') }}

),

horizon as (

    select
        least(
            {{ as_of_date() }},
            greatest(
                (select max(performance_date) from ad_days),
                (select max(start_date) from campaigns)
            )
        ) as last_day

),

spend_span as (

    select
        campaign_id,
        min(performance_date) as first_spend_date,
        max(performance_date) as last_spend_date

    from ad_days
    group by campaign_id

),

run_days as (

    select
        campaigns.campaign_id,
        campaigns.campaign_name,
        campaigns.channel,
        campaigns.start_date,
        campaigns.end_date,
        campaigns.budget,
        campaigns.currency as budget_currency,
        cast(
            unnest(
                generate_series(
                    cast(
                        least(campaigns.start_date, coalesce(spend_span.first_spend_date, campaigns.start_date))
                        as timestamp
                    ),
                    cast(
                        least(
                            greatest(
                                coalesce(campaigns.end_date, horizon.last_day),
                                coalesce(spend_span.last_spend_date, campaigns.start_date)
                            ),
                            horizon.last_day
                        ) as timestamp
                    ),
                    interval 1 day
                )
            ) as date
        ) as pacing_date

    from campaigns
    cross join horizon
    left join spend_span on campaigns.campaign_id = spend_span.campaign_id
    where least(campaigns.start_date, coalesce(spend_span.first_spend_date, campaigns.start_date)) <= horizon.last_day

),

budgeted as (

    select
        run_days.*,
        case
            when run_days.budget_currency = '{{ var("reporting_currency") | replace("'", "''") }}' then 1.0
            else rates.rate
        end as budget_rate

    from run_days
    asof left join rates
        on
            run_days.budget_currency = rates.currency
            and run_days.pacing_date >= rates.rate_date

),

spent as (

    select
        budgeted.*,
        coalesce(ad_days.spend, 0) as spend,
        sum(coalesce(ad_days.spend, 0)) over (
            partition by budgeted.campaign_id
            order by budgeted.pacing_date
            rows between unbounded preceding and current row
        ) as spend_to_date,
        case
            when budgeted.end_date is not null
                then greatest(0, least(
                    1,
                    (date_diff('day', budgeted.start_date, budgeted.pacing_date) + 1)
                    / (date_diff('day', budgeted.start_date, budgeted.end_date) + 1)
                ))
        end as elapsed_share

    from budgeted
    left join ad_days
        on
            budgeted.campaign_id = ad_days.campaign_id
            and budgeted.pacing_date = ad_days.performance_date

),

expected as (

    select
        *,
        round(budget * budget_rate, 2) as reporting_budget,
        round(budget * budget_rate * elapsed_share, 2) as expected_spend_to_date

    from spent

),

final as (

    select
        campaign_id,
        campaign_name,
        channel,
        pacing_date,
        start_date,
        end_date,
        pacing_date between start_date and coalesce(end_date, pacing_date) as in_run,
        cast(spend as decimal(18, 2)) as spend,
        cast(spend_to_date as decimal(18, 2)) as spend_to_date,
        budget,
        budget_currency,
        cast(reporting_budget as decimal(18, 2)) as reporting_budget,
        cast(round(elapsed_share, 4) as double) as elapsed_share,
        cast(expected_spend_to_date as decimal(18, 2)) as expected_spend_to_date,
        cast(round(spend_to_date / nullif(expected_spend_to_date, 0), 4) as double) as pacing,
        case
            when expected_spend_to_date is null then null
            when expected_spend_to_date = 0 then case when spend_to_date > 0 then 'over' end
            when spend_to_date / expected_spend_to_date < {{ var('pacing_under_below') }} then 'under'
            when spend_to_date / expected_spend_to_date > {{ var('pacing_over_above') }} then 'over'
            else 'on track'
        end as pacing_status

    from expected

)

select * from final
