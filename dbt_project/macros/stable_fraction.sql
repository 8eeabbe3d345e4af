{#- A number in [0, 1) fixed by the text it is given: the same text always draws the same number (md5-based, so
    it does not change between DuckDB versions or runs). Used for holdout draws. -#}
{% macro stable_fraction(text) -%}
    (cast(abs(md5_number({{ text }})) % 1000000 as double) / 1000000)
{%- endmacro %}
