-- Who is in each audience as of the cycle, why, and whether they are held out. The rules are in
-- seeds/audience_definitions.csv (shown in `audiences`). Consent comes first: a customer who opted out of
-- everything is in no audience; paid audiences need explicit Advertising consent. A stable share of each audience
-- (holdout_share) is held out: never exported, kept to measure what the action changed.

with

definitions as (

    select * from {{ ref('audience_definitions') }}

),

consent as (

    select * from {{ ref('int_customer_consent') }}

),

bad_sessions as (

    select * from {{ ref('int_bad_sessions') }}

),

low_scores as (

    select * from {{ ref('stg_product__feedback_items') }}
    where (kind = 'nps' and score <= 6) or (kind in ('csat', 'review') and score <= 2)

),

-- service recovery: a bad session, then a low score; the latest low score and the latest bad session before it
service_recovery as (

    select
        low_scores.customer_id,
        'service_recovery' as audience_id,
        arg_max(
            'bad session on ' || strftime({{ business_day('bad_sessions.ended_at') }}, '%Y-%m-%d') || ' ('
            || bad_sessions.errors || ' error(s), slowest call ' || cast(bad_sessions.max_latency_ms as bigint)
            || ' ms, no purchase), then ' || upper(low_scores.kind) || ' ' || low_scores.score || ' on '
            || strftime({{ business_day('low_scores.submitted_at') }}, '%Y-%m-%d')
            || coalesce(' about ' || low_scores.product_area, ''),
            { 'answered': low_scores.submitted_at, 'session': bad_sessions.ended_at, 'id': low_scores.feedback_id }
        ) as reason

    from low_scores
    inner join bad_sessions
        on
            low_scores.customer_id = bad_sessions.customer_id
            and low_scores.submitted_at > bad_sessions.ended_at
    group by low_scores.customer_id

),

releases as (

    select * from {{ ref('stg_product__releases') }}

),

checkout_failures as (

    select
        bad_sessions.customer_id,
        bad_sessions.session_id,
        bad_sessions.ended_at,
        bad_sessions.error_codes,
        unnest(bad_sessions.error_areas) as product_area

    from bad_sessions
    where bad_sessions.reached_checkout and bad_sessions.errors > 0

),

unfixed_failures as (

    select checkout_failures.*
    from checkout_failures
    where not exists (
        select 1 from releases
        where
            releases.released_on > {{ business_day('checkout_failures.ended_at') }}
            and list_contains(releases.product_areas, checkout_failures.product_area)
    )

),

retargeting_holdback as (

    select
        customer_id,
        'retargeting_holdback' as audience_id,
        arg_max(
            'checkout failed on ' || strftime({{ business_day('ended_at') }}, '%Y-%m-%d')
            || ' with ' || array_to_string(error_codes, ', ')
            || ' in ' || product_area || '; no release has named ' || product_area || ' since',
            { 'at': ended_at, 'session': session_id, 'area': product_area }
        ) as reason

    from unfixed_failures
    group by customer_id

),

latest_nps as (

    select * from {{ ref('stg_product__feedback_items') }}
    where kind = 'nps'
    qualify row_number() over (partition by customer_id order by submitted_at desc, feedback_id desc) = 1

),

customers as (

    select * from {{ ref('customer_experience') }}

),

advocates as (

    select
        latest_nps.customer_id,
        'advocates' as audience_id,
        'NPS ' || latest_nps.score || ' on '
        || strftime({{ business_day('latest_nps.submitted_at') }}, '%Y-%m-%d') || '; '
        || customers.error_sessions || ' of ' || customers.sessions || ' session(s) with an error, p95 latency '
        || coalesce(cast(customers.p95_latency_ms as bigint) || ' ms', 'not measured') as reason

    from latest_nps
    inner join customers on latest_nps.customer_id = customers.customer_id
    where
        latest_nps.score >= 9
        and customers.error_rate <= {{ var('advocate_max_error_rate') }}
        and coalesce(customers.p95_latency_ms, 0) <= {{ var('advocate_max_p95_ms') }}

),

best_campaign as (

    select
        campaign_id,
        promise_kept_score,
        scorecard_rank
    from {{ ref('campaign_scorecard') }}
    -- first_touch: the customers it credits are about those whose first session came from the campaign
    where
        model = 'first_touch'
        and attributed_customers >= {{ var('lookalike_min_customers') }}
        and promise_kept_score is not null
    order by scorecard_rank
    limit 1

),

lookalike_seed as (

    select
        customers.customer_id,
        'lookalike_seed' as audience_id,
        'acquired by ' || best_campaign.campaign_id || ' (promise kept ' || best_campaign.promise_kept_score
        || ', rank ' || best_campaign.scorecard_rank || '), ordered ' || customers.purchases
        || ' time(s), no error' as reason

    from customers
    inner join best_campaign on customers.acquisition_campaign_id = best_campaign.campaign_id
    where customers.converted and customers.errors = 0

),

candidates as (

    select * from service_recovery
    union all
    select * from retargeting_holdback
    union all
    select * from advocates
    union all
    select * from lookalike_seed

),

consented as (

    select candidates.*
    from candidates
    inner join definitions on candidates.audience_id = definitions.audience_id
    left join consent on candidates.customer_id = consent.customer_id
    where
        not coalesce(consent.opted_out_of_everything, false)
        and (definitions.channel = 'owned' or coalesce(consent.advertising_consent, false))

)

select
    audience_id,
    customer_id,
    reason,
    {{ stable_fraction("'" ~ var('holdout_seed') ~ "' || ':' || audience_id || ':' || customer_id") }}
    < {{ var('holdout_share') }} as is_holdout

from consented
