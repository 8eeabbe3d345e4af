-- What the loop did: every audience export and every signal sent to product, when, under which rule version, and
-- how many customers were in its cohort and held out.

select
    action_id,
    action_kind,
    subject,
    cycle_date,
    as_of,
    taken_at,
    rule_version,
    product_area,
    symptom,
    cast(treatment_size as bigint) as treatment_size,
    cast(holdout_size as bigint) as holdout_size,
    details

from {{ ref('stg_cycle__actions') }}
