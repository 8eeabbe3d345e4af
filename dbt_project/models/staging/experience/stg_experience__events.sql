with

source as (

    -- Screen, alias and group calls are landed as they come (raw.events); the marts read track, page and identify.
    select * from {{ landed_as_of(source('experience', 'events')) }}
    where type in ('track', 'page', 'identify')

),

renamed as (

    select
        message_id as event_id,
        type as event_type,
        coalesce(event, name) as event_name,
        anonymous_id,
        user_id as customer_id,
        timestamp as occurred_at,
        coalesce(properties ->> '$.path', context ->> '$.page.path') as page_path,
        properties ->> '$.product_area' as product_area,
        try_cast(properties ->> '$.latency_ms' as double) as latency_ms,
        properties ->> '$.error_code' as error_code,
        properties ->> '$.order_id' as order_id,
        try_cast(properties ->> '$.revenue' as decimal(18, 2)) as revenue,
        context ->> '$.campaign.source' as utm_source,
        context ->> '$.campaign.medium' as utm_medium,
        context ->> '$.campaign.name' as utm_campaign,
        -- where the visitor came from when no UTM says so: the page's referrer URL (analytics.js sets
        -- context.page.referrer) or a referral program's context.referrer {type, url}
        nullif(lower(regexp_extract(
            coalesce(context ->> '$.page.referrer', context ->> '$.referrer.url'),
            '^[a-zA-Z][a-zA-Z0-9+.-]*://([^/:?#]+)',
            1
        )), '') as referrer_host,
        context ->> '$.referrer.type' as referrer_type,
        context ->> '$.app.version' as app_version,
        context ->> '$.userAgent' as user_agent,
        json_extract(context, '$.consent.categoryPreferences') as consent_preferences,
        traits ->> '$.email' as trait_email,
        traits ->> '$.phone' as trait_phone,
        traits ->> '$.first_name' as trait_first_name,
        traits ->> '$.last_name' as trait_last_name,
        traits ->> '$.country' as trait_country,
        traits ->> '$.zip' as trait_zip,
        -- the device stream the event came from (a browser or app install: its anonymous id; server-side calls that
        -- carry only a user id: that user's server-side stream). Sessions are cut per device.
        coalesce('anonymous:' || anonymous_id, 'user:' || user_id) as device_id,
        _partition_date as landed_on,
        _landed_at as landed_at

    from source

)

select * from renamed
