-- One row per request handled by the coordinator. Both usage sinks write here:
-- the Postgres sink directly, the Supabase sink through PostgREST (POST /rest/v1/usage_events,
-- on_conflict=request_id, Prefer: resolution=ignore-duplicates).
-- Idempotent: safe to run again, by `apply_migrations` or by hand in the Supabase SQL editor.
-- Unqualified names: the table lands in the first schema of search_path (public by default).

CREATE TABLE IF NOT EXISTS usage_events (
    request_id      text PRIMARY KEY,             -- the key that makes retried writes harmless
    time            timestamptz NOT NULL,
    door            text NOT NULL,                -- grpc | http | mcp
    method          text NOT NULL,                -- Route | Aggregate | Health | Status | ...
    operation       text NOT NULL,                -- query | tool | method
    tool_or_method  text NOT NULL DEFAULT '',
    target          text NOT NULL DEFAULT '',     -- chosen target; empty when none was chosen
    rule            text,
    reason          text,
    confidence      double precision,
    outcome         text NOT NULL,                -- ok | error | ...
    status_code     text NOT NULL,                -- gRPC status code name, e.g. OK, UNAVAILABLE
    latency_ms      double precision NOT NULL,
    cached          boolean NOT NULL DEFAULT false,
    failover        boolean NOT NULL DEFAULT false,
    attempts        jsonb NOT NULL DEFAULT '[]'::jsonb,  -- [{"target","outcome","latency_ms"}]
    api_key_id      text                          -- short hash of the caller's key, never the key
);

CREATE INDEX IF NOT EXISTS usage_events_time_idx ON usage_events (time);
CREATE INDEX IF NOT EXISTS usage_events_target_time_idx ON usage_events (target, time);

-- Supabase exposes every public table through its REST API; with row level security on and no
-- policy, only the service role (which bypasses RLS) and the table owner can read or write it.
ALTER TABLE usage_events ENABLE ROW LEVEL SECURITY;
