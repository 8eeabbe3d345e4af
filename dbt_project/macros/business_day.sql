{#- The business day of an instant: its calendar date in the configured time zone (`LOOP_TIMEZONE`, which `loop run`
    passes as `business_timezone`; default UTC). `ts` must be a TIMESTAMPTZ: DuckDB's timezone(zone, timestamptz)
    gives the local wall-clock time there, whose date is the business day (a day of 23 or 25 hours when the clocks
    change). loop validates the zone as an IANA name before it reaches dbt; quotes are doubled all the same. -#}
{% macro business_day(ts) -%}
    cast(timezone('{{ var("business_timezone") | replace("'", "''") }}', {{ ts }}) as date)
{%- endmacro %}
