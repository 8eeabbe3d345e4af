{#- The cycle's as-of date, a SQL date: marts reflect what had landed up to it. `loop run` passes it in the
    environment (DBT_LOOP_AS_OF_DATE), not as a --vars value: dbt re-parses the whole project whenever a --vars value
    changes (4-5 s of every daily build), while a changed environment variable re-parses only the files that read it.
    Unset (a hand-run `dbt build`), everything landed counts. Unit tests set it with `overrides: env_vars:`. -#}
{% macro as_of_date() -%}
    cast('{{ env_var("DBT_LOOP_AS_OF_DATE", "9999-12-31") }}' as date)
{%- endmacro %}
