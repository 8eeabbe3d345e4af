-- Identity resolution, one row per device and customer its sessions belong to (see int_sessions_lifecycle for the
-- rule): a device is an anonymous id (a browser or app install) or a user's server-side stream. A device shared by
-- two customers has a row for each; a customer on two devices has a row on each.

select
    device_id,
    any_value(anonymous_id) as anonymous_id,
    customer_id,
    min(started_at) as first_session_at,
    max(started_at) as last_session_at,
    count(*) as sessions

from {{ ref('int_sessions') }}
where customer_id is not null
group by device_id, customer_id
