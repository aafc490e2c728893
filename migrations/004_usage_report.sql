-- The Usage RPC's queries, as SQL functions: the Postgres backing calls them over asyncpg and the
-- Supabase backing through PostgREST (POST /rest/v1/rpc/<function>), so both answer alike.
-- Idempotent (CREATE OR REPLACE, IF NOT EXISTS): safe to run again, by `apply_migrations` or by hand.
-- Times come back as microseconds since 1970-01-01 UTC: exact, whatever the session's time zone.
-- Request ids are compared with COLLATE "C" (code point order), as the in-process window does.

CREATE INDEX IF NOT EXISTS usage_events_door_time_idx ON usage_events (door, time);
CREATE INDEX IF NOT EXISTS usage_events_api_key_id_time_idx ON usage_events (api_key_id, time);
CREATE INDEX IF NOT EXISTS usage_events_request_id_idx ON usage_events (request_id);

-- Per bucket and target, per bucket, and over the whole window (`level`); the percentiles
-- interpolate between the two nearest values (percentile_cont).
CREATE OR REPLACE FUNCTION usage_series(
    p_start timestamptz,
    p_end timestamptz,
    p_bucket_seconds integer,
    p_target text DEFAULT NULL,
    p_door text DEFAULT NULL,
    p_key_id text DEFAULT NULL,
    p_outcome text DEFAULT NULL,
    p_request_id text DEFAULT NULL
)
RETURNS TABLE (
    level text,
    bucket_us bigint,
    target text,
    requests bigint,
    errors bigint,
    failovers bigint,
    cached bigint,
    latency_ms double precision[]
)
LANGUAGE sql STABLE
AS $$
    WITH selected AS (
        SELECT date_bin(make_interval(secs => p_bucket_seconds), e.time, timestamptz 'epoch')
                   AS bucket,
               e.target, e.outcome, e.failover, e.cached, e.latency_ms
        FROM usage_events e
        WHERE e.time >= p_start AND e.time < p_end
          AND (p_target IS NULL OR e.target = p_target)
          AND (p_door IS NULL OR e.door = p_door)
          AND (p_key_id IS NULL OR e.api_key_id = p_key_id)
          AND (p_outcome IS NULL OR e.outcome = p_outcome)
          AND (p_request_id IS NULL OR e.request_id = p_request_id)
    )
    SELECT CASE grouping(bucket, target) WHEN 0 THEN 'target' WHEN 1 THEN 'bucket' ELSE 'all' END,
           (extract(epoch FROM bucket) * 1000000)::bigint,
           target,
           count(*),
           count(*) FILTER (WHERE outcome <> 'ok'),
           count(*) FILTER (WHERE failover),
           count(*) FILTER (WHERE cached),
           percentile_cont(ARRAY[0.5, 0.95, 0.99]::double precision[])
               WITHIN GROUP (ORDER BY latency_ms)
    FROM selected
    GROUP BY GROUPING SETS ((bucket, target), (bucket), ())
$$;

-- Requests per bucket and door: counts only, so a hash aggregate in a query of its own.
CREATE OR REPLACE FUNCTION usage_doors(
    p_start timestamptz,
    p_end timestamptz,
    p_bucket_seconds integer,
    p_target text DEFAULT NULL,
    p_door text DEFAULT NULL,
    p_key_id text DEFAULT NULL,
    p_outcome text DEFAULT NULL,
    p_request_id text DEFAULT NULL
)
RETURNS TABLE (bucket_us bigint, door text, requests bigint)
LANGUAGE sql STABLE
AS $$
    SELECT (extract(epoch FROM bucket) * 1000000)::bigint, door, count(*)
    FROM (
        SELECT date_bin(make_interval(secs => p_bucket_seconds), e.time, timestamptz 'epoch')
                   AS bucket,
               e.door
        FROM usage_events e
        WHERE e.time >= p_start AND e.time < p_end
          AND (p_target IS NULL OR e.target = p_target)
          AND (p_door IS NULL OR e.door = p_door)
          AND (p_key_id IS NULL OR e.api_key_id = p_key_id)
          AND (p_outcome IS NULL OR e.outcome = p_outcome)
          AND (p_request_id IS NULL OR e.request_id = p_request_id)
    ) selected
    GROUP BY bucket, door
$$;

-- Counts over the whole window by rule and reason, door, operation, key id and target.
CREATE OR REPLACE FUNCTION usage_breakdown(
    p_start timestamptz,
    p_end timestamptz,
    p_target text DEFAULT NULL,
    p_door text DEFAULT NULL,
    p_key_id text DEFAULT NULL,
    p_outcome text DEFAULT NULL,
    p_request_id text DEFAULT NULL
)
RETURNS TABLE (dimension text, key text, detail text, count bigint)
LANGUAGE sql STABLE
AS $$
    SELECT CASE
               WHEN grouping(rule, reason) = 0 THEN 'reason'
               WHEN grouping(door) = 0 THEN 'door'
               WHEN grouping(tool_or_method) = 0 THEN 'operation'
               WHEN grouping(api_key_id) = 0 THEN 'key_id'
               ELSE 'target'
           END,
           coalesce(CASE WHEN grouping(rule, reason) = 0 THEN rule END,
                    CASE WHEN grouping(door) = 0 THEN door END,
                    CASE WHEN grouping(tool_or_method) = 0 THEN tool_or_method END,
                    CASE WHEN grouping(api_key_id) = 0 THEN api_key_id END,
                    CASE WHEN grouping(target) = 0 THEN target END,
                    ''),
           CASE WHEN grouping(rule, reason) = 0 THEN coalesce(reason, '') ELSE '' END,
           count(*)
    FROM usage_events e
    WHERE e.time >= p_start AND e.time < p_end
      AND (p_target IS NULL OR e.target = p_target)
      AND (p_door IS NULL OR e.door = p_door)
      AND (p_key_id IS NULL OR e.api_key_id = p_key_id)
      AND (p_outcome IS NULL OR e.outcome = p_outcome)
      AND (p_request_id IS NULL OR e.request_id = p_request_id)
    GROUP BY GROUPING SETS ((rule, reason), (door), (tool_or_method), (api_key_id), (target))
$$;

-- The latest decisions, newest first (ties by request id), older than the cursor when given.
CREATE OR REPLACE FUNCTION usage_recent(
    p_start timestamptz,
    p_end timestamptz,
    p_limit integer,
    p_target text DEFAULT NULL,
    p_door text DEFAULT NULL,
    p_key_id text DEFAULT NULL,
    p_outcome text DEFAULT NULL,
    p_request_id text DEFAULT NULL,
    p_before_time timestamptz DEFAULT NULL,
    p_before_request_id text DEFAULT NULL
)
RETURNS TABLE (
    request_id text,
    time_us bigint,
    door text,
    method text,
    operation text,
    tool_or_method text,
    target text,
    rule text,
    reason text,
    confidence double precision,
    outcome text,
    status_code text,
    latency_ms double precision,
    cached boolean,
    failover boolean,
    attempts jsonb,
    api_key_id text
)
LANGUAGE sql STABLE
AS $$
    SELECT e.request_id, (extract(epoch FROM e.time) * 1000000)::bigint, e.door, e.method,
           e.operation, e.tool_or_method, e.target, e.rule, e.reason, e.confidence, e.outcome,
           e.status_code, e.latency_ms, e.cached, e.failover, e.attempts, e.api_key_id
    FROM usage_events e
    WHERE e.time >= p_start AND e.time < p_end
      AND (p_target IS NULL OR e.target = p_target)
      AND (p_door IS NULL OR e.door = p_door)
      AND (p_key_id IS NULL OR e.api_key_id = p_key_id)
      AND (p_outcome IS NULL OR e.outcome = p_outcome)
      AND (p_request_id IS NULL OR e.request_id = p_request_id)
      AND (p_before_time IS NULL
           OR e.time < p_before_time
           OR (e.time = p_before_time AND e.request_id COLLATE "C" < p_before_request_id))
    ORDER BY e.time DESC, e.request_id COLLATE "C" DESC
    LIMIT p_limit
$$;
