-- The audiences of the cycle: what each is for, its rule, who it goes to and how many are in it (and held out).

with

definitions as (

    select * from {{ ref('audience_definitions') }}

),

members as (

    select
        audience_id,
        count(*) as members,
        count(*) filter (where is_holdout) as holdout_members

    from {{ ref('audience_members') }}
    group by audience_id

)

select
    definitions.audience_id,
    definitions.name,
    definitions.purpose,
    replace(
        replace(replace(replace(
            definitions.rule,
            '{slow_page_ms}', '{{ var("slow_page_ms") }}'
        ),
        '{advocate_max_error_rate}', '{{ var("advocate_max_error_rate") }}'),
        '{advocate_max_p95_ms}', '{{ var("advocate_max_p95_ms") }}'),
        '{lookalike_min_customers}', '{{ var("lookalike_min_customers") }}'
    ) as rule,  -- noqa: RF04
    definitions.channel,
    case definitions.channel when 'paid' then 'customer-match, meta' else 'owned' end as destinations,
    definitions.rule_version,
    cast(coalesce(members.members, 0) as bigint) as members,
    cast(coalesce(members.holdout_members, 0) as bigint) as holdout_members,
    cast(coalesce(members.members, 0) - coalesce(members.holdout_members, 0) as bigint) as exported_members

from definitions
left join members on definitions.audience_id = members.audience_id
