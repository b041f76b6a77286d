-- target-postgres (MeltanoLabs, 0.8.1, the latest release) creates `date-time` columns as
-- `timestamp without time zone`. The taps send every date-time in UTC, so the stored values
-- are UTC wall times. Run this once per tap schema after its first load to make those columns
-- `timestamptz` (each value read as UTC); later loads keep the type and write correct instants.
--
--   psql "postgresql://user@host/warehouse" -v schema=tap_pm2_events -f warehouse/postgres_timestamptz.sql
SELECT format(
    'ALTER TABLE %I.%I ALTER COLUMN %I TYPE timestamptz USING %I AT TIME ZONE ''UTC''',
    table_schema, table_name, column_name, column_name
)
FROM information_schema.columns
WHERE table_schema = :'schema' AND data_type = 'timestamp without time zone'
ORDER BY table_name, column_name
\gexec
