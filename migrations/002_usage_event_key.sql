-- Usage rows get a key of their own. Until now the caller's request id was the primary key, so a
-- caller reusing an id silently suppressed every later row (ON CONFLICT DO NOTHING). Now:
--   event_id    the coordinator's own id of the event, unique; retried writes stay harmless;
--   request_id  the caller's id (at most 128 printable characters, checked at every door), indexed;
--   error       what went wrong, for a request that failed;
--   attempts    each element may carry "error" (why that target did not answer).
-- Idempotent: safe to run again, by `apply_migrations` or by hand in the Supabase SQL editor.

ALTER TABLE usage_events ADD COLUMN IF NOT EXISTS event_id uuid;
UPDATE usage_events SET event_id = gen_random_uuid() WHERE event_id IS NULL;
ALTER TABLE usage_events ALTER COLUMN event_id SET DEFAULT gen_random_uuid();
ALTER TABLE usage_events ALTER COLUMN event_id SET NOT NULL;
ALTER TABLE usage_events ADD COLUMN IF NOT EXISTS error text;

DO $$
BEGIN
    IF NOT EXISTS (
        SELECT 1 FROM pg_constraint
        WHERE conrelid = 'usage_events'::regclass AND conname = 'usage_events_event_id_pkey'
    ) THEN
        ALTER TABLE usage_events DROP CONSTRAINT IF EXISTS usage_events_pkey;
        ALTER TABLE usage_events ADD CONSTRAINT usage_events_event_id_pkey PRIMARY KEY (event_id);
    END IF;
END $$;

CREATE INDEX IF NOT EXISTS usage_events_request_id_idx ON usage_events (request_id);
