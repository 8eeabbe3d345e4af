{#- Spend is never lost to a missing rate: every row with spend in another currency than the reporting one found a
    rate of its currency on or before its day (marketing/currency_rates). Returns each currency and day without one,
    with the spend it leaves unconverted and a sentence saying what to land. -#}
{% test has_currency_rate(model, column_name, original='spend_original', currency='currency_original', day='performance_date') %}
select
    {{ currency }} as currency,
    {{ day }} as day,
    count(*) as rows_without_rate,
    sum({{ original }}) as spend_unconverted,
    'no rate of ' || {{ currency }} || ' on or before ' || strftime({{ day }}, '%Y-%m-%d')
        || ' in marketing/currency_rates: land one (units of {{ var("reporting_currency") }} per '
        || {{ currency }} || ')' as problem
from {{ model }}
where {{ column_name }} is null and {{ original }} is not null
group by all
{% endtest %}
