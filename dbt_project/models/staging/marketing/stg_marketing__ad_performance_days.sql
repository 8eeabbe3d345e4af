-- Spend in the reporting currency (var reporting_currency): the platform's spend times the rate of its currency on
-- the day, or on the latest earlier day with a rate (ASOF join); the reporting currency itself at rate 1. A row
-- whose currency has no rate on or before its day keeps spend NULL and fails the test has_currency_rate.
with

source as (

    select * from {{ landed_as_of(source('marketing', 'ad_performance')) }}

),

rates as (

    select * from {{ ref('stg_marketing__currency_rates') }}

),

converted as (

    select
        source.date as performance_date,
        source.campaign_id,
        source.platform,
        source.campaign_name as platform_campaign_name,
        source.spend as spend_original,
        source.currency as currency_original,
        case
            when source.currency = '{{ var("reporting_currency") | replace("'", "''") }}' then 1.0
            else rates.rate
        end as exchange_rate,
        case
            when source.currency = '{{ var("reporting_currency") | replace("'", "''") }}' then source.date
            else rates.rate_date
        end as exchange_rate_date,
        source.impressions,
        source.clicks

    from source
    asof left join rates
        on
            source.currency = rates.currency
            and source.date >= rates.rate_date

),

final as (

    select
        performance_date,
        campaign_id,
        platform,
        platform_campaign_name,
        cast(round(spend_original * exchange_rate, 2) as decimal(18, 2)) as spend,
        '{{ var("reporting_currency") | replace("'", "''") }}' as currency,
        spend_original,
        currency_original,
        exchange_rate,
        exchange_rate_date,
        impressions,
        clicks

    from converted

)

select * from final
