-- The members of the actions this build sees (see stg_cycle__actions).

with

source as (

    select * from {{ source('cycle', 'action_members') }}
    where action_id in (
        select actions.action_id from {{ source('cycle', 'actions') }} as actions
        where actions.as_of < {{ as_of_date() }}
    )

),

renamed as (

    select
        action_id,
        customer_id,
        arm

    from source

)

select * from renamed
