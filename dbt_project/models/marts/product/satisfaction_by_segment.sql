-- NPS and CSAT per segment: product area x product version x the customer's acquisition channel, with the rollups
-- product teams read most (area x version over every channel, area over every version and channel, and the whole
-- product); a rolled-up dimension reads '(all)', a customer of no known acquisition channel '(unknown)'. Only the
-- segments with at least one NPS or CSAT answer have a row, so a shop without surveys has an empty table.
-- Each figure comes with its 95 % confidence interval (macros/feedback/satisfaction.sql): Wald for the NPS, Wilson
-- for the CSAT score.

with

answers as (

    select
        feedback.product_area,
        feedback.product_version,
        coalesce(context.acquisition_channel, '(unknown)') as acquisition_channel,
        feedback.kind,
        feedback.nps_category,
        feedback.score

    from {{ ref('int_feedback') }} as feedback
    left join {{ ref('int_feedback_context') }} as context on feedback.feedback_id = context.feedback_id
    where feedback.kind in ('nps', 'csat')

),

counted as (

    select
        case
            when grouping(product_area) = 1 then 'overall'
            when grouping(product_version) = 1 then 'area'
            when grouping(acquisition_channel) = 1 then 'area_version'
            else 'area_version_channel'
        end as segment_level,
        case when grouping(product_area) = 1 then '(all)' else product_area end as product_area,
        case when grouping(product_version) = 1 then '(all)' else product_version end as product_version,
        case when grouping(acquisition_channel) = 1 then '(all)' else acquisition_channel end as acquisition_channel,
        count(*) filter (where kind = 'nps') as nps_responses,
        count(*) filter (where nps_category = 'promoter') as promoters,
        count(*) filter (where nps_category = 'passive') as passives,
        count(*) filter (where nps_category = 'detractor') as detractors,
        count(*) filter (where kind = 'csat') as csat_responses,
        count(*) filter (where kind = 'csat' and score >= 4) as satisfied_responses

    from answers
    group by
        grouping sets (
            (product_area, product_version, acquisition_channel),
            (product_area, product_version),
            (product_area),
            ()
        )
    having count(*) > 0

)

select
    segment_level,
    product_area,
    product_version,
    acquisition_channel,
    nps_responses,
    promoters,
    passives,
    detractors,
    round(100.0 * (promoters - detractors) / nullif(nps_responses, 0), 1) as nps,
    {{ nps_ci('promoters', 'detractors', 'nps_responses', 'low') }} as nps_ci_low,
    {{ nps_ci('promoters', 'detractors', 'nps_responses', 'high') }} as nps_ci_high,
    csat_responses,
    satisfied_responses,
    round(100.0 * satisfied_responses / nullif(csat_responses, 0), 1) as csat_score,
    {{ wilson_ci('satisfied_responses', 'csat_responses', 'low') }} as csat_score_ci_low,
    {{ wilson_ci('satisfied_responses', 'csat_responses', 'high') }} as csat_score_ci_high

from counted
