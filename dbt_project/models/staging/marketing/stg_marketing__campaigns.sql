with

source as (

    select * from {{ landed_as_of(source('marketing', 'campaigns')) }}

),

latest_snapshot as (

    select * from source
    qualify row_number() over (
        partition by campaign_id order by _partition_date desc, _row_number desc
    ) = 1

),

renamed as (

    select
        campaign_id,
        campaign_name,
        channel,
        objective,
        promise,
        start_date,
        end_date,
        budget,
        currency,
        target_segment,
        coalesce(
            list_filter(
                list_transform(string_split(lower(promise_areas), ';'), lambda area: trim(area)),
                lambda area: area <> ''
            ),
            []
        ) as promise_areas,
        channel in ('email', 'push') as is_owned_channel

    from latest_snapshot

)

select * from renamed
