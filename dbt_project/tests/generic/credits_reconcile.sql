{#- Attribution reconciles: for every conversion and model the credits sum to 1 and the revenue credits to the
    conversion's revenue, within `tolerance` (doubles, never rounded), and the conversion carries one revenue.
    Returns the (conversion, model) pairs that do not. -#}
{% test credits_reconcile(model, conversion_key='conversion_id', model_column='model', credit='credit',
                          revenue_credit='revenue_credit', revenue='revenue', tolerance=1e-9) %}
select
    {{ conversion_key }},
    {{ model_column }},
    sum({{ credit }}) as credits,
    sum({{ revenue_credit }}) as revenue_credits,
    min({{ revenue }}) as revenue
from {{ model }}
group by {{ conversion_key }}, {{ model_column }}
having
    abs(sum({{ credit }}) - 1) > {{ tolerance }}
    or abs(sum({{ revenue_credit }}) - cast(min({{ revenue }}) as double)) > {{ tolerance }}
    or min({{ revenue }}) <> max({{ revenue }})
    or count({{ credit }}) < count(*)
    or count({{ revenue_credit }}) < count(*)
{% endtest %}
