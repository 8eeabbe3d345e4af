-- The actions decided on data complete up to a date before this build's as-of date. An action as of D is recorded
-- after the build as of D published, so a build as of D never sees its own cycle's actions: building the same day
-- again gives the same marts, and the outcomes of D's actions start with the build of D + 1.

with

source as (

    select * from {{ source('cycle', 'actions') }}
    where as_of < {{ as_of_date() }}

),

renamed as (

    select
        action_id,
        kind as action_kind,
        subject,
        cycle_date,
        as_of,
        taken_at,
        rule_version,
        product_area,
        symptom,
        treatment_size,
        holdout_size,
        details

    from source

)

select * from renamed
