{#- Satisfaction figures and their 95 % confidence intervals (z = 1.96), null when there is no answer.

    nps_ci(promoters, detractors, responses, bound): the Wald interval of the NPS, bound 'low' or 'high':
      100 * (p - d) -/+ 1.96 * 100 * sqrt((p + d - (p - d)^2) / n), p and d the promoter and detractor shares,
      clamped to [-100, 100] and rounded to 0.1.
    wilson_ci(successes, responses, bound): the Wilson score interval of the share successes / responses, in %:
      100 * (k + z^2/2 -/+ z * sqrt(k * (n - k) / n + z^2 / 4)) / (n + z^2), rounded to 0.1. -#}

{% macro nps_ci(promoters, detractors, responses, bound) -%}
    {%- set sign = '-' if bound == 'low' else '+' -%}
    case when {{ responses }} > 0 then round({{ 'greatest' if bound == 'low' else 'least' }}(
        {{ '-100.0' if bound == 'low' else '100.0' }},
        100.0 * ({{ promoters }} - {{ detractors }}) / {{ responses }}
        {{ sign }} 1.96 * 100.0 * sqrt(greatest(0.0, (
            ({{ promoters }} + {{ detractors }}) / {{ responses }}
            - pow(({{ promoters }} - {{ detractors }}) / {{ responses }}, 2)
        ) / {{ responses }}))
    ), 1) end
{%- endmacro %}

{% macro wilson_ci(successes, responses, bound) -%}
    {%- set sign = '-' if bound == 'low' else '+' -%}
    case when {{ responses }} > 0 then round(100.0 * (
        {{ successes }} + 1.96 * 1.96 / 2
        {{ sign }} 1.96 * sqrt({{ successes }} * ({{ responses }} - {{ successes }}) / {{ responses }} + 1.96 * 1.96 / 4)
    ) / ({{ responses }} + 1.96 * 1.96), 1) end
{%- endmacro %}
