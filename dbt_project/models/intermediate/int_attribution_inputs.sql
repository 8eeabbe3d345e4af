-- The touches and conversions the attribution credits were last computed from, in one shape (macro
-- attribution_inputs): one row per touch and per conversion with every column the credits read. The next build's
-- int_attribution_scope compares the current touches and conversions with these rows to find what changed.
--
-- Incremental: each build replaces, for the customers of the pending scope (int_attribution_scope), the rows at or
-- after the customer's `reattribute_from` with the current ones (custom strategy `reattribute`), so that these rows
-- are again the touches and conversions as of this build.
-- depends_on: {{ ref('int_attribution_scope') }}

{{ config(
    materialized='incremental',
    incremental_strategy='reattribute',
    reattribute_column='occurred_at',
    on_schema_change='fail',
    post_hook="{{ record_attribution_build() }}",
) }}

{%- set redo = attribution_redo() %}

with

{% if redo == 'scope' %}

    attribution_scope as (  -- noqa: ST03

        {{ attribution_pending_scope() }}

    ),

{% endif %}

inputs as (

    {{ attribution_inputs() }}

)

select inputs.*

from inputs
{% if redo == 'scope' %}
    inner join attribution_scope
        on
            inputs.customer_id = attribution_scope.customer_id
            and inputs.occurred_at >= attribution_scope.reattribute_from
{% endif %}
