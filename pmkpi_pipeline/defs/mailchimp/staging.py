"""``stg_mailchimp``: the Mailchimp staging views of ``staging.sql``, refreshed and counted per range."""

from ..common.staging import build_staging_asset

stg_mailchimp = build_staging_asset("mailchimp", date_columns={
    "stg_mailchimp_reports": "send_date", "stg_mailchimp_list_activity": "date", "stg_mailchimp_members": "date",
    "int_leads_daily": "day",
})
