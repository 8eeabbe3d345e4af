with

feedback_items as (

    select * from {{ ref('stg_product__feedback_items') }}

),

acquisition as (

    select * from {{ ref('int_customer_acquisition') }}

)

select
    feedback_items.feedback_id,
    feedback_items.customer_id,
    feedback_items.kind,
    feedback_items.submitted_at,
    feedback_items.product_area,
    feedback_items.product_version,
    feedback_items.score,
    case
        when feedback_items.kind != 'nps' then null
        when feedback_items.score >= 9 then 'promoter'
        when feedback_items.score >= 7 then 'passive'
        else 'detractor'
    end as nps_category,
    feedback_items.text,
    acquisition.acquisition_campaign_id

from feedback_items
left join acquisition on feedback_items.customer_id = acquisition.customer_id
