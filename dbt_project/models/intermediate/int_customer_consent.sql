-- One row per customer who ever made a consent choice: the latest choice per category wins (ties: the consent
-- platform's record, then a refusal). Advertising consent must be explicit; a customer whose every latest choice
-- is a refusal has opted out of everything. Customers with no choice at all are absent (no advertising consent).

with

latest as (

    select * from {{ ref('int_consent_decisions') }}
    qualify row_number() over (
        partition by customer_id, consent_category
        order by decided_at desc, origin = 'consent platform' desc, granted asc
    ) = 1

)

select
    customer_id,
    coalesce(bool_or(granted) filter (where consent_category = 'advertising'), false) as advertising_consent,
    not bool_or(granted) as opted_out_of_everything,
    list(consent_category order by consent_category) filter (where granted) as granted_categories,
    max(decided_at) as last_decided_at

from latest
group by customer_id
