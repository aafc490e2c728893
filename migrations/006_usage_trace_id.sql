-- The OpenTelemetry trace id (32 hex digits) of a traced request, NULL otherwise: from a usage
-- row to the request's trace in Jaeger, Tempo or any tracing system.
-- Idempotent: safe to run again, by `apply_migrations` or by hand.

ALTER TABLE usage_events ADD COLUMN IF NOT EXISTS trace_id text;
