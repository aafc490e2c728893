-- The Usage RPC's report in ONE json value, for the Supabase backing, which calls it through
-- PostgREST: PostgREST cuts the rows of a function returning a table at its db-max-rows setting
-- (1,000 on Supabase by default) without an error, so a 24-hour window in 1-minute buckets lost
-- most of its series; a single value is never cut. The PostgreSQL backing calls the table
-- functions directly.
--
-- The value is an object with the rows of each report function, as arrays keyed by the function's
-- name: usage_rollup_series, usage_rollup_doors, usage_rollup_breakdown (005) and usage_recent
-- (004); only usage_recent when p_recent_only. Its parameters are theirs, under the same names.
-- Like the functions it calls, it runs with the caller's rights: through Supabase's REST API only
-- the service role reads the usage tables (row level security).
-- Idempotent (CREATE OR REPLACE): safe to run again, by `apply_migrations` or by hand.

CREATE OR REPLACE FUNCTION usage_report_json(
    p_start timestamptz,
    p_end timestamptz,
    p_limit integer,
    p_bucket_seconds integer DEFAULT NULL,
    p_target text DEFAULT NULL,
    p_door text DEFAULT NULL,
    p_key_id text DEFAULT NULL,
    p_outcome text DEFAULT NULL,
    p_request_id text DEFAULT NULL,
    p_before_time timestamptz DEFAULT NULL,
    p_before_request_id text DEFAULT NULL,
    p_recent_only boolean DEFAULT false
)
RETURNS json
LANGUAGE plpgsql STABLE
AS $$
DECLARE
    recent json;
BEGIN
    -- Newest first, as usage_recent orders them (the array keeps that order explicitly).
    SELECT coalesce(json_agg(r ORDER BY r.time_us DESC, r.request_id COLLATE "C" DESC),
                    '[]'::json)
    INTO recent
    FROM usage_recent(p_start, p_end, p_limit, p_target, p_door, p_key_id, p_outcome,
                      p_request_id, p_before_time, p_before_request_id) r;
    IF p_recent_only THEN
        RETURN json_build_object('usage_recent', recent);
    END IF;
    RETURN json_build_object(
        'usage_rollup_series',
        (SELECT coalesce(json_agg(r), '[]'::json)
         FROM usage_rollup_series(p_start, p_end, p_bucket_seconds, p_target, p_door, p_key_id,
                                  p_outcome, p_request_id) r),
        'usage_rollup_doors',
        (SELECT coalesce(json_agg(r), '[]'::json)
         FROM usage_rollup_doors(p_start, p_end, p_bucket_seconds, p_target, p_door, p_key_id,
                                 p_outcome, p_request_id) r),
        'usage_rollup_breakdown',
        (SELECT coalesce(json_agg(r), '[]'::json)
         FROM usage_rollup_breakdown(p_start, p_end, p_target, p_door, p_key_id, p_outcome,
                                     p_request_id) r),
        'usage_recent', recent
    );
END
$$;
