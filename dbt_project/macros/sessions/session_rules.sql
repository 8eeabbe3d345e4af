{#- A fingerprint of everything that decides a session's content besides the events: the session vars, the bot
    and channel seeds and the version of the session logic. When it changes, the next build recomputes every
    session (int_sessions_scope). Bump `session_logic_version` when the session models' SQL changes meaning. -#}
{% macro session_rules_fingerprint() -%}
    {%- set session_logic_version = '2' -%}
    md5(
        '{{ session_logic_version }}|{{ var("session_timeout_minutes") }}|{{ var("engaged_gap_cap_seconds") }}|'
        || (
            select coalesce(string_agg(to_json(bots)::varchar, chr(10) order by to_json(bots)::varchar), '')
            from {{ ref('bot_user_agents') }} as bots
        )
        || '|'
        || (
            select coalesce(string_agg(to_json(rules)::varchar, chr(10) order by to_json(rules)::varchar), '')
            from {{ ref('channel_groups') }} as rules
        )
    )
{%- endmacro %}


{#- The channel of each distinct (source, medium, campaign) of `touches` (a relation or CTE with those columns):
    the lowest-priority rule of seeds/channel_groups.csv whose patterns all match, else 'Unassigned'. Rules are
    evaluated once per distinct combination, not per session. -#}
{% macro channel_groups(touches) -%}
    select
        touches.source,
        touches.medium,
        touches.campaign,
        coalesce(
            arg_min(rules.channel, {'priority': rules.priority, 'channel': rules.channel}),
            'Unassigned'
        ) as channel
    from (select distinct source, medium, campaign from {{ touches }}) as touches
    left join {{ ref('channel_groups') }} as rules
        on
            regexp_matches(coalesce(touches.source, ''), coalesce(rules.source_pattern, ''), 'i')
            and regexp_matches(coalesce(touches.medium, ''), coalesce(rules.medium_pattern, ''), 'i')
            and regexp_matches(coalesce(touches.campaign, ''), coalesce(rules.campaign_pattern, ''), 'i')
    group by touches.source, touches.medium, touches.campaign
{%- endmacro %}
