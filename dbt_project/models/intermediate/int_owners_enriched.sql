-- One row per CRM owner with the manager e-mail, locale and team it is routed with: the
-- owner directory's value where it has one, else the CRM owner record's (HubSpot owners
-- have no manager or locale; their team is HubSpot's primary team).

with

owners as (

    select * from {{ ref('stg_crm__owners') }}

),

directory as (

    select * from {{ ref('stg_crm__owner_directory') }}

),

final as (

    select
        owners.owner_id,
        owners.owner_name,
        owners.owner_email,
        owners.is_active,
        coalesce(directory.manager_email, owners.manager_email) as manager_email,
        {{ digest_locale('coalesce(directory.locale, owners.locale)') }} as locale,
        coalesce(directory.team, owners.team) as team,
        directory.owner_id is not null as is_in_owner_directory,
        case
            when directory.manager_email is not null then 'owner_directory'
            when owners.manager_email is not null then 'crm'
        end as manager_email_source,
        case
            when directory.locale is not null then 'owner_directory'
            when owners.locale is not null then 'crm'
        end as locale_source
    from owners
    left join directory
        on owners.owner_id = directory.owner_id

)

select * from final
