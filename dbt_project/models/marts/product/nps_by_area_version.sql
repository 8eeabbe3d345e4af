with

nps_responses as (

    select * from {{ ref('feedback') }}
    where kind = 'nps'

),

counted as (

    select
        product_area,
        product_version,
        count(*) as responses,
        count(*) filter (where nps_category = 'promoter') as promoters,
        count(*) filter (where nps_category = 'passive') as passives,
        count(*) filter (where nps_category = 'detractor') as detractors

    from nps_responses
    group by product_area, product_version

)

select
    product_area,
    product_version,
    responses,
    promoters,
    passives,
    detractors,
    round(100.0 * (promoters - detractors) / responses, 1) as nps

from counted
