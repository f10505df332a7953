-- Marketing-input staging views: spend in the reporting currency (rows without a currency are in
-- {reporting_currency}), social stats, and monthly industry sales pro-rated to days.
-- Placeholders filled in when the views are (re)created: {timezone} (PMKPI_TIMEZONE) and
-- {reporting_currency} (PMKPI_REPORTING_CURRENCY).

CREATE OR REPLACE VIEW stg_marketing_spend AS
SELECT s.date, s.channel, s.amount * fx.rate AS amount
FROM raw_inputs_marketing_spend s
LEFT JOIN stg_fx_rates fx ON fx.currency = COALESCE(NULLIF(upper(s.currency), ''), '{reporting_currency}');

CREATE OR REPLACE VIEW stg_social_media AS
SELECT date, network, impressions, engagements FROM raw_inputs_social_media;

CREATE OR REPLACE VIEW stg_industry_sales_daily AS
WITH months AS (
    SELECT CAST(strptime(month, '%Y-%m') AS DATE) AS month_start, market,
           total_sales * fx.rate AS total_sales
    FROM raw_inputs_industry_sales s
    LEFT JOIN stg_fx_rates fx
      ON fx.currency = COALESCE(NULLIF(upper(s.currency), ''), '{reporting_currency}'))
SELECT CAST(d.day AS DATE) AS date, m.market,
       m.total_sales / day(last_day(m.month_start)) AS daily_sales
FROM months m,
     LATERAL generate_series(m.month_start, last_day(m.month_start), INTERVAL 1 DAY) AS d(day);

-- Intermediate view: marketing and sales spend per day, all channels, in the reporting currency.
CREATE OR REPLACE VIEW int_spend_daily AS
SELECT date AS day, sum(amount) AS spend
FROM stg_marketing_spend
GROUP BY date;
