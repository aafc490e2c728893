-- A per-minute rollup of `usage_events`, kept by PostgreSQL itself, so that the Usage RPC reads a
-- few thousand rollup rows instead of sorting every request of the window (1,000,000 rows a day
-- took seconds; see bench/RESULTS.md for what the rollups answer it in).
--
-- Latency is kept as a histogram over fixed, log-spaced bounds (four per doubling, from 0.0625 ms
-- to 110 s; `usage_latency_bounds`, the same numbers as LATENCY_BOUNDS_MS in
-- coordinator/usage/latency.py) plus the smallest and largest latency, and the percentiles are
-- interpolated inside the bucket holding the rank, by coordinator/usage/latency.py for every
-- backing alike. Counts are exact.
--
-- Four rollups, each keyed by what its filters and groups need (fewer keys, fewer rows to read):
--   usage_minutes          minute, target: counts and latency, for the series and totals;
--   usage_minute_doors     minute, target, door: requests, for the doors;
--   usage_minutes_by_key   minute, target, door, outcome, key id: counts and latency, for a window
--                          filtered by door, key id or outcome;
--   usage_choices          10 minutes, every breakdown dimension and filter: requests.
-- Each statement inserting into usage_events adds its rows to the rollups in one statement-level
-- trigger (a transition table); a delete or update recomputes the minutes it touched (meant for
-- retention of old rows), a truncate empties them. The rollups are derived data: this file
-- rebuilds them from usage_events every time it runs, so running it again changes nothing.
--
-- The Usage RPC calls usage_rollup_series, usage_rollup_doors and usage_rollup_breakdown. 004's
-- series, doors and breakdown functions stay unchanged: they compute the same answer exactly from
-- the rows, and bench/bench_usage_report.py measures the rollups' estimates against them.
-- Whole minutes (whole 10 minutes for the breakdown) inside the window are read from the rollups
-- when the buckets are whole minutes; the rest of the window, and a window filtered by request id,
-- from usage_events itself, each request as a histogram of one.
-- Idempotent (CREATE ... IF NOT EXISTS, CREATE OR REPLACE, the rollups rebuilt): safe to run again.

CREATE OR REPLACE FUNCTION usage_latency_bounds() RETURNS double precision[]
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
    SELECT ARRAY[
        0.0625, 0.074375, 0.088125, 0.105, 0.125, 0.14875, 0.17625, 0.21, 0.25, 0.2975,
        0.3525, 0.42, 0.5, 0.595, 0.705, 0.84, 1.0, 1.19, 1.41, 1.68, 2.0, 2.38, 2.82,
        3.36, 4.0, 4.76, 5.64, 6.72, 8.0, 9.52, 11.28, 13.44, 16.0, 19.04, 22.56, 26.88,
        32.0, 38.08, 45.12, 53.76, 64.0, 76.16, 90.24, 107.52, 128.0, 152.32, 180.48,
        215.04, 256.0, 304.64, 360.96, 430.08, 512.0, 609.28, 721.92, 860.16, 1024.0,
        1218.56, 1443.84, 1720.32, 2048.0, 2437.12, 2887.68, 3440.64, 4096.0, 4874.24,
        5775.36, 6881.28, 8192.0, 9748.48, 11550.72, 13762.56, 16384.0, 19496.96,
        23101.44, 27525.12, 32768.0, 38993.92, 46202.88, 55050.24, 65536.0, 77987.84,
        92405.76, 110100.48
    ]::double precision[]
$$;

-- 0 below the first bound, i for bounds[i] <= latency < bounds[i + 1] (Python's bisect_right).
CREATE OR REPLACE FUNCTION usage_latency_bucket(latency_ms double precision) RETURNS integer
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
    SELECT width_bucket(latency_ms, usage_latency_bounds())
$$;

-- The histogram (85 counts, bucket 0 first) of the given bucket numbers.
CREATE OR REPLACE FUNCTION usage_latency_histogram(buckets integer[]) RETURNS bigint[]
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
    SELECT array_agg(coalesce(found.n, 0) ORDER BY i)
    FROM generate_series(0, 84) AS i
    LEFT JOIN (SELECT b, count(*) AS n FROM unnest(buckets) AS b GROUP BY b) found
        ON found.b = i
$$;

-- The histogram of one request: cheaper than usage_latency_histogram for the raw rows of a query.
CREATE OR REPLACE FUNCTION usage_latency_one(latency_ms double precision) RETURNS bigint[]
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
    SELECT array_fill(0::bigint, ARRAY[usage_latency_bucket(latency_ms)]) || 1::bigint
           || array_fill(0::bigint, ARRAY[84 - usage_latency_bucket(latency_ms)])
$$;

CREATE OR REPLACE FUNCTION usage_histogram_add(a bigint[], b bigint[]) RETURNS bigint[]
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
    SELECT array_agg(x + y ORDER BY i) FROM unnest(a, b) WITH ORDINALITY AS u(x, y, i)
$$;

CREATE TABLE IF NOT EXISTS usage_minutes (
    minute            timestamptz NOT NULL,
    target            text NOT NULL,
    requests          integer NOT NULL,
    errors            integer NOT NULL,
    failovers         integer NOT NULL,
    cached            integer NOT NULL,
    latency_min       double precision NOT NULL,
    latency_max       double precision NOT NULL,
    latency_histogram bigint[] NOT NULL,
    PRIMARY KEY (minute, target)
);

CREATE TABLE IF NOT EXISTS usage_minute_doors (
    minute   timestamptz NOT NULL,
    target   text NOT NULL,
    door     text NOT NULL,
    requests integer NOT NULL,
    PRIMARY KEY (minute, target, door)
);

CREATE TABLE IF NOT EXISTS usage_minutes_by_key (
    minute            timestamptz NOT NULL,
    target            text NOT NULL,
    door              text NOT NULL,
    outcome           text NOT NULL,
    api_key_id        text,
    requests          integer NOT NULL,
    errors            integer NOT NULL,
    failovers         integer NOT NULL,
    cached            integer NOT NULL,
    latency_min       double precision NOT NULL,
    latency_max       double precision NOT NULL,
    latency_histogram bigint[] NOT NULL,
    CONSTRAINT usage_minutes_by_key_key
        UNIQUE NULLS NOT DISTINCT (minute, target, door, outcome, api_key_id)
);

CREATE TABLE IF NOT EXISTS usage_choices (
    period_start   timestamptz NOT NULL,  -- 10 minutes from here
    target         text NOT NULL,
    door           text NOT NULL,
    outcome        text NOT NULL,
    api_key_id     text,
    rule           text,
    reason         text,
    tool_or_method text NOT NULL,
    requests       integer NOT NULL,
    CONSTRAINT usage_choices_key UNIQUE NULLS NOT DISTINCT
        (period_start, target, door, outcome, api_key_id, rule, reason, tool_or_method)
);

-- Like usage_events: reachable through Supabase's REST API only by the service role.
ALTER TABLE usage_minutes ENABLE ROW LEVEL SECURITY;
ALTER TABLE usage_minute_doors ENABLE ROW LEVEL SECURITY;
ALTER TABLE usage_minutes_by_key ENABLE ROW LEVEL SECURITY;
ALTER TABLE usage_choices ENABLE ROW LEVEL SECURITY;

-- Recomputes the rollups from usage_events for the 10-minute periods overlapping [p_from, p_to].
-- Its statements are usage_rollup_on_insert's over usage_events instead of the inserted rows
-- (tests/usage/test_rollup.py holds them to the same rollups).
CREATE OR REPLACE FUNCTION usage_rollup_refresh(p_from timestamptz, p_to timestamptz)
RETURNS void
LANGUAGE plpgsql
AS $$
DECLARE
    period_from timestamptz := date_bin('10 minutes', p_from, timestamptz 'epoch');
    period_to timestamptz := date_bin('10 minutes', p_to, timestamptz 'epoch')
                             + interval '10 minutes';
BEGIN
    IF p_from IS NULL OR p_to IS NULL THEN
        RETURN;
    END IF;
    DELETE FROM usage_minutes WHERE minute >= period_from AND minute < period_to;
    DELETE FROM usage_minute_doors WHERE minute >= period_from AND minute < period_to;
    DELETE FROM usage_minutes_by_key WHERE minute >= period_from AND minute < period_to;
    DELETE FROM usage_choices WHERE period_start >= period_from AND period_start < period_to;
    INSERT INTO usage_minutes AS r
        (minute, target, requests, errors, failovers, cached,
         latency_min, latency_max, latency_histogram)
    SELECT date_bin('1 minute', e.time, timestamptz 'epoch'), e.target,
           count(*), count(*) FILTER (WHERE e.outcome <> 'ok'),
           count(*) FILTER (WHERE e.failover), count(*) FILTER (WHERE e.cached),
           min(e.latency_ms), max(e.latency_ms),
           usage_latency_histogram(array_agg(usage_latency_bucket(e.latency_ms)))
    FROM (SELECT * FROM usage_events
          WHERE time >= period_from AND time < period_to) e
    GROUP BY 1, 2
    ORDER BY 1, 2
    ON CONFLICT (minute, target) DO UPDATE SET
        requests = r.requests + excluded.requests,
        errors = r.errors + excluded.errors,
        failovers = r.failovers + excluded.failovers,
        cached = r.cached + excluded.cached,
        latency_min = least(r.latency_min, excluded.latency_min),
        latency_max = greatest(r.latency_max, excluded.latency_max),
        latency_histogram = usage_histogram_add(r.latency_histogram,
                                                excluded.latency_histogram);

    INSERT INTO usage_minute_doors AS r (minute, target, door, requests)
    SELECT date_bin('1 minute', e.time, timestamptz 'epoch'), e.target, e.door, count(*)
    FROM (SELECT * FROM usage_events
          WHERE time >= period_from AND time < period_to) e
    GROUP BY 1, 2, 3
    ORDER BY 1, 2, 3
    ON CONFLICT (minute, target, door) DO UPDATE SET requests = r.requests + excluded.requests;

    INSERT INTO usage_minutes_by_key AS r
        (minute, target, door, outcome, api_key_id, requests, errors, failovers, cached,
         latency_min, latency_max, latency_histogram)
    SELECT date_bin('1 minute', e.time, timestamptz 'epoch'), e.target, e.door, e.outcome,
           e.api_key_id, count(*), count(*) FILTER (WHERE e.outcome <> 'ok'),
           count(*) FILTER (WHERE e.failover), count(*) FILTER (WHERE e.cached),
           min(e.latency_ms), max(e.latency_ms),
           usage_latency_histogram(array_agg(usage_latency_bucket(e.latency_ms)))
    FROM (SELECT * FROM usage_events
          WHERE time >= period_from AND time < period_to) e
    GROUP BY 1, 2, 3, 4, 5
    ORDER BY 1, 2, 3, 4, 5
    ON CONFLICT ON CONSTRAINT usage_minutes_by_key_key DO UPDATE SET
        requests = r.requests + excluded.requests,
        errors = r.errors + excluded.errors,
        failovers = r.failovers + excluded.failovers,
        cached = r.cached + excluded.cached,
        latency_min = least(r.latency_min, excluded.latency_min),
        latency_max = greatest(r.latency_max, excluded.latency_max),
        latency_histogram = usage_histogram_add(r.latency_histogram,
                                                excluded.latency_histogram);

    INSERT INTO usage_choices AS r
        (period_start, target, door, outcome, api_key_id, rule, reason, tool_or_method, requests)
    SELECT date_bin('10 minutes', e.time, timestamptz 'epoch'), e.target, e.door, e.outcome,
           e.api_key_id, e.rule, e.reason, e.tool_or_method, count(*)
    FROM (SELECT * FROM usage_events
          WHERE time >= period_from AND time < period_to) e
    GROUP BY 1, 2, 3, 4, 5, 6, 7, 8
    ORDER BY 1, 2, 3, 4, 5, 6, 7, 8
    ON CONFLICT ON CONSTRAINT usage_choices_key DO UPDATE SET
        requests = r.requests + excluded.requests;
END
$$;

-- Adds the rows of one INSERT statement (`added`, its transition table) to the rollups, in key
-- order, so that concurrent writers lock rollup rows in one order.
CREATE OR REPLACE FUNCTION usage_rollup_on_insert() RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
    INSERT INTO usage_minutes AS r
        (minute, target, requests, errors, failovers, cached,
         latency_min, latency_max, latency_histogram)
    SELECT date_bin('1 minute', e.time, timestamptz 'epoch'), e.target,
           count(*), count(*) FILTER (WHERE e.outcome <> 'ok'),
           count(*) FILTER (WHERE e.failover), count(*) FILTER (WHERE e.cached),
           min(e.latency_ms), max(e.latency_ms),
           usage_latency_histogram(array_agg(usage_latency_bucket(e.latency_ms)))
    FROM added e
    GROUP BY 1, 2
    ORDER BY 1, 2
    ON CONFLICT (minute, target) DO UPDATE SET
        requests = r.requests + excluded.requests,
        errors = r.errors + excluded.errors,
        failovers = r.failovers + excluded.failovers,
        cached = r.cached + excluded.cached,
        latency_min = least(r.latency_min, excluded.latency_min),
        latency_max = greatest(r.latency_max, excluded.latency_max),
        latency_histogram = usage_histogram_add(r.latency_histogram,
                                                excluded.latency_histogram);

    INSERT INTO usage_minute_doors AS r (minute, target, door, requests)
    SELECT date_bin('1 minute', e.time, timestamptz 'epoch'), e.target, e.door, count(*)
    FROM added e
    GROUP BY 1, 2, 3
    ORDER BY 1, 2, 3
    ON CONFLICT (minute, target, door) DO UPDATE SET requests = r.requests + excluded.requests;

    INSERT INTO usage_minutes_by_key AS r
        (minute, target, door, outcome, api_key_id, requests, errors, failovers, cached,
         latency_min, latency_max, latency_histogram)
    SELECT date_bin('1 minute', e.time, timestamptz 'epoch'), e.target, e.door, e.outcome,
           e.api_key_id, count(*), count(*) FILTER (WHERE e.outcome <> 'ok'),
           count(*) FILTER (WHERE e.failover), count(*) FILTER (WHERE e.cached),
           min(e.latency_ms), max(e.latency_ms),
           usage_latency_histogram(array_agg(usage_latency_bucket(e.latency_ms)))
    FROM added e
    GROUP BY 1, 2, 3, 4, 5
    ORDER BY 1, 2, 3, 4, 5
    ON CONFLICT ON CONSTRAINT usage_minutes_by_key_key DO UPDATE SET
        requests = r.requests + excluded.requests,
        errors = r.errors + excluded.errors,
        failovers = r.failovers + excluded.failovers,
        cached = r.cached + excluded.cached,
        latency_min = least(r.latency_min, excluded.latency_min),
        latency_max = greatest(r.latency_max, excluded.latency_max),
        latency_histogram = usage_histogram_add(r.latency_histogram,
                                                excluded.latency_histogram);

    INSERT INTO usage_choices AS r
        (period_start, target, door, outcome, api_key_id, rule, reason, tool_or_method, requests)
    SELECT date_bin('10 minutes', e.time, timestamptz 'epoch'), e.target, e.door, e.outcome,
           e.api_key_id, e.rule, e.reason, e.tool_or_method, count(*)
    FROM added e
    GROUP BY 1, 2, 3, 4, 5, 6, 7, 8
    ORDER BY 1, 2, 3, 4, 5, 6, 7, 8
    ON CONFLICT ON CONSTRAINT usage_choices_key DO UPDATE SET
        requests = r.requests + excluded.requests;
    RETURN NULL;
END
$$;

CREATE OR REPLACE FUNCTION usage_rollup_on_delete() RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
    PERFORM usage_rollup_refresh(min(time), max(time)) FROM removed;
    RETURN NULL;
END
$$;

CREATE OR REPLACE FUNCTION usage_rollup_on_update() RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
    PERFORM usage_rollup_refresh(min(time), max(time))
    FROM (SELECT time FROM removed UNION ALL SELECT time FROM added) touched;
    RETURN NULL;
END
$$;

CREATE OR REPLACE FUNCTION usage_rollup_on_truncate() RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
    TRUNCATE usage_minutes, usage_minute_doors, usage_minutes_by_key, usage_choices;
    RETURN NULL;
END
$$;

-- No writer adds rows between the rebuild below and the triggers taking over: they wait here.
LOCK TABLE usage_events IN SHARE ROW EXCLUSIVE MODE;

CREATE OR REPLACE TRIGGER usage_rollup_insert
    AFTER INSERT ON usage_events REFERENCING NEW TABLE AS added
    FOR EACH STATEMENT EXECUTE FUNCTION usage_rollup_on_insert();
CREATE OR REPLACE TRIGGER usage_rollup_delete
    AFTER DELETE ON usage_events REFERENCING OLD TABLE AS removed
    FOR EACH STATEMENT EXECUTE FUNCTION usage_rollup_on_delete();
CREATE OR REPLACE TRIGGER usage_rollup_update
    AFTER UPDATE ON usage_events REFERENCING OLD TABLE AS removed NEW TABLE AS added
    FOR EACH STATEMENT EXECUTE FUNCTION usage_rollup_on_update();
CREATE OR REPLACE TRIGGER usage_rollup_truncate
    AFTER TRUNCATE ON usage_events
    FOR EACH STATEMENT EXECUTE FUNCTION usage_rollup_on_truncate();

-- The backfill: the rollups rebuilt from every stored row.
TRUNCATE usage_minutes, usage_minute_doors, usage_minutes_by_key, usage_choices;
SELECT usage_rollup_refresh(min(time), max(time)) FROM usage_events;

-- Where the rollup of `p_granule_seconds` periods covers the window [p_start, p_end): from the
-- first whole period to the end of the last one. Empty (both p_end) when it cannot serve: buckets
-- that are not whole periods, a filter on request id, or no whole period in the window.
CREATE OR REPLACE FUNCTION usage_rollup_from(
    p_start timestamptz, p_end timestamptz, p_bucket_seconds integer, p_granule_seconds integer,
    p_request_id text
) RETURNS timestamptz
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
    SELECT CASE
        WHEN p_request_id IS NOT NULL OR p_bucket_seconds % p_granule_seconds <> 0 THEN p_end
        ELSE least(p_end, date_bin(make_interval(secs => p_granule_seconds),
                                   p_start - interval '1 microsecond', timestamptz 'epoch')
                          + make_interval(secs => p_granule_seconds))
    END
$$;

CREATE OR REPLACE FUNCTION usage_rollup_to(
    p_start timestamptz, p_end timestamptz, p_bucket_seconds integer, p_granule_seconds integer,
    p_request_id text
) RETURNS timestamptz
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
    SELECT greatest(
        usage_rollup_from(p_start, p_end, p_bucket_seconds, p_granule_seconds, p_request_id),
        date_bin(make_interval(secs => p_granule_seconds), p_end, timestamptz 'epoch'))
$$;

-- The sum of bigints as a bigint (sum(bigint) is numeric, slower); an overflow is an error.
CREATE OR REPLACE AGGREGATE usage_sum(bigint) (SFUNC = int8pl, STYPE = bigint);

-- The window's requests as (minute or time, target, counts, latency): whole minutes from the
-- smallest rollup the filters allow (without usage_minutes when not `p_with_minutes`), the rest
-- of the window from usage_events.
CREATE OR REPLACE FUNCTION usage_rollup_pieces(
    p_start timestamptz,
    p_end timestamptz,
    p_bucket_seconds integer,
    p_target text DEFAULT NULL,
    p_door text DEFAULT NULL,
    p_key_id text DEFAULT NULL,
    p_outcome text DEFAULT NULL,
    p_request_id text DEFAULT NULL,
    p_with_minutes boolean DEFAULT true
)
RETURNS TABLE (
    moment timestamptz,
    target text,
    requests integer,
    errors integer,
    failovers integer,
    cached integer,
    latency_min double precision,
    latency_max double precision,
    latency_histogram bigint[]
)
LANGUAGE sql STABLE
AS $$
    SELECT m.minute, m.target, m.requests, m.errors, m.failovers, m.cached,
           m.latency_min, m.latency_max, m.latency_histogram
    FROM usage_minutes m
    WHERE p_with_minutes AND p_door IS NULL AND p_key_id IS NULL AND p_outcome IS NULL
      AND m.minute >= usage_rollup_from(p_start, p_end, p_bucket_seconds, 60, p_request_id)
      AND m.minute < usage_rollup_to(p_start, p_end, p_bucket_seconds, 60, p_request_id)
      AND (p_target IS NULL OR m.target = p_target)
    UNION ALL
    SELECT k.minute, k.target, k.requests, k.errors, k.failovers, k.cached,
           k.latency_min, k.latency_max, k.latency_histogram
    FROM usage_minutes_by_key k
    WHERE (p_door IS NOT NULL OR p_key_id IS NOT NULL OR p_outcome IS NOT NULL)
      AND k.minute >= usage_rollup_from(p_start, p_end, p_bucket_seconds, 60, p_request_id)
      AND k.minute < usage_rollup_to(p_start, p_end, p_bucket_seconds, 60, p_request_id)
      AND (p_target IS NULL OR k.target = p_target)
      AND (p_door IS NULL OR k.door = p_door)
      AND (p_key_id IS NULL OR k.api_key_id = p_key_id)
      AND (p_outcome IS NULL OR k.outcome = p_outcome)
    UNION ALL
    SELECT e.time, e.target, 1, (e.outcome <> 'ok')::integer, e.failover::integer,
           e.cached::integer, e.latency_ms, e.latency_ms, usage_latency_one(e.latency_ms)
    FROM usage_events e
    WHERE ((e.time >= p_start
            AND e.time < usage_rollup_from(p_start, p_end, p_bucket_seconds, 60, p_request_id))
           OR (e.time >= usage_rollup_to(p_start, p_end, p_bucket_seconds, 60, p_request_id)
               AND e.time < p_end))
      AND (p_target IS NULL OR e.target = p_target)
      AND (p_door IS NULL OR e.door = p_door)
      AND (p_key_id IS NULL OR e.api_key_id = p_key_id)
      AND (p_outcome IS NULL OR e.outcome = p_outcome)
      AND (p_request_id IS NULL OR e.request_id = p_request_id)
$$;

-- Per bucket and target, per bucket, and over the whole window (`level`), with the summed
-- latency histogram (from the smallest latency's bucket to the largest's) and the smallest and
-- largest latency: the caller interpolates percentiles (coordinator/usage/latency.py).
-- Each level is summed from the one below it (fewer rows than summing the pieces three times).
CREATE OR REPLACE FUNCTION usage_rollup_series(
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
    latency_min double precision,
    latency_max double precision,
    latency_histogram bigint[]
)
LANGUAGE sql STABLE
AS $$
    WITH by_target (bucket, target, requests, errors, failovers, cached, latency_min, latency_max,
                    h) AS (
        -- Minute buckets without filters but the target: usage_minutes rows are the groups.
        SELECT m.minute AS bucket, m.target, m.requests::bigint, m.errors::bigint,
               m.failovers::bigint, m.cached::bigint, m.latency_min, m.latency_max,
               m.latency_histogram
        FROM usage_minutes m
        WHERE p_bucket_seconds = 60 AND p_door IS NULL AND p_key_id IS NULL AND p_outcome IS NULL
          AND m.minute >= usage_rollup_from(p_start, p_end, p_bucket_seconds, 60, p_request_id)
          AND m.minute < usage_rollup_to(p_start, p_end, p_bucket_seconds, 60, p_request_id)
          AND (p_target IS NULL OR m.target = p_target)
        UNION ALL
        -- Otherwise summed (raw rows at the window's edges are never in those minutes).
        SELECT date_bin(make_interval(secs => p_bucket_seconds), p.moment, timestamptz 'epoch'),
               p.target,
               sum(p.requests),
               sum(p.errors),
               sum(p.failovers),
               sum(p.cached),
               min(p.latency_min),
               max(p.latency_max),
               ARRAY[
                   usage_sum(p.h[1]), usage_sum(p.h[2]), usage_sum(p.h[3]),
                   usage_sum(p.h[4]), usage_sum(p.h[5]), usage_sum(p.h[6]),
                   usage_sum(p.h[7]), usage_sum(p.h[8]), usage_sum(p.h[9]),
                   usage_sum(p.h[10]), usage_sum(p.h[11]), usage_sum(p.h[12]),
                   usage_sum(p.h[13]), usage_sum(p.h[14]), usage_sum(p.h[15]),
                   usage_sum(p.h[16]), usage_sum(p.h[17]), usage_sum(p.h[18]),
                   usage_sum(p.h[19]), usage_sum(p.h[20]), usage_sum(p.h[21]),
                   usage_sum(p.h[22]), usage_sum(p.h[23]), usage_sum(p.h[24]),
                   usage_sum(p.h[25]), usage_sum(p.h[26]), usage_sum(p.h[27]),
                   usage_sum(p.h[28]), usage_sum(p.h[29]), usage_sum(p.h[30]),
                   usage_sum(p.h[31]), usage_sum(p.h[32]), usage_sum(p.h[33]),
                   usage_sum(p.h[34]), usage_sum(p.h[35]), usage_sum(p.h[36]),
                   usage_sum(p.h[37]), usage_sum(p.h[38]), usage_sum(p.h[39]),
                   usage_sum(p.h[40]), usage_sum(p.h[41]), usage_sum(p.h[42]),
                   usage_sum(p.h[43]), usage_sum(p.h[44]), usage_sum(p.h[45]),
                   usage_sum(p.h[46]), usage_sum(p.h[47]), usage_sum(p.h[48]),
                   usage_sum(p.h[49]), usage_sum(p.h[50]), usage_sum(p.h[51]),
                   usage_sum(p.h[52]), usage_sum(p.h[53]), usage_sum(p.h[54]),
                   usage_sum(p.h[55]), usage_sum(p.h[56]), usage_sum(p.h[57]),
                   usage_sum(p.h[58]), usage_sum(p.h[59]), usage_sum(p.h[60]),
                   usage_sum(p.h[61]), usage_sum(p.h[62]), usage_sum(p.h[63]),
                   usage_sum(p.h[64]), usage_sum(p.h[65]), usage_sum(p.h[66]),
                   usage_sum(p.h[67]), usage_sum(p.h[68]), usage_sum(p.h[69]),
                   usage_sum(p.h[70]), usage_sum(p.h[71]), usage_sum(p.h[72]),
                   usage_sum(p.h[73]), usage_sum(p.h[74]), usage_sum(p.h[75]),
                   usage_sum(p.h[76]), usage_sum(p.h[77]), usage_sum(p.h[78]),
                   usage_sum(p.h[79]), usage_sum(p.h[80]), usage_sum(p.h[81]),
                   usage_sum(p.h[82]), usage_sum(p.h[83]), usage_sum(p.h[84]),
                   usage_sum(p.h[85])
               ]
        FROM usage_rollup_pieces(p_start, p_end, p_bucket_seconds, p_target, p_door, p_key_id,
                                 p_outcome, p_request_id, p_bucket_seconds <> 60)
             AS p (moment, target, requests, errors, failovers, cached, latency_min, latency_max, h)
        GROUP BY 1, 2
    ),
    by_bucket AS (
        SELECT t.bucket,
               usage_sum(t.requests) AS requests,
               usage_sum(t.errors) AS errors,
               usage_sum(t.failovers) AS failovers,
               usage_sum(t.cached) AS cached,
               min(t.latency_min) AS latency_min,
               max(t.latency_max) AS latency_max,
               ARRAY[
                   usage_sum(t.h[1]), usage_sum(t.h[2]), usage_sum(t.h[3]),
                   usage_sum(t.h[4]), usage_sum(t.h[5]), usage_sum(t.h[6]),
                   usage_sum(t.h[7]), usage_sum(t.h[8]), usage_sum(t.h[9]),
                   usage_sum(t.h[10]), usage_sum(t.h[11]), usage_sum(t.h[12]),
                   usage_sum(t.h[13]), usage_sum(t.h[14]), usage_sum(t.h[15]),
                   usage_sum(t.h[16]), usage_sum(t.h[17]), usage_sum(t.h[18]),
                   usage_sum(t.h[19]), usage_sum(t.h[20]), usage_sum(t.h[21]),
                   usage_sum(t.h[22]), usage_sum(t.h[23]), usage_sum(t.h[24]),
                   usage_sum(t.h[25]), usage_sum(t.h[26]), usage_sum(t.h[27]),
                   usage_sum(t.h[28]), usage_sum(t.h[29]), usage_sum(t.h[30]),
                   usage_sum(t.h[31]), usage_sum(t.h[32]), usage_sum(t.h[33]),
                   usage_sum(t.h[34]), usage_sum(t.h[35]), usage_sum(t.h[36]),
                   usage_sum(t.h[37]), usage_sum(t.h[38]), usage_sum(t.h[39]),
                   usage_sum(t.h[40]), usage_sum(t.h[41]), usage_sum(t.h[42]),
                   usage_sum(t.h[43]), usage_sum(t.h[44]), usage_sum(t.h[45]),
                   usage_sum(t.h[46]), usage_sum(t.h[47]), usage_sum(t.h[48]),
                   usage_sum(t.h[49]), usage_sum(t.h[50]), usage_sum(t.h[51]),
                   usage_sum(t.h[52]), usage_sum(t.h[53]), usage_sum(t.h[54]),
                   usage_sum(t.h[55]), usage_sum(t.h[56]), usage_sum(t.h[57]),
                   usage_sum(t.h[58]), usage_sum(t.h[59]), usage_sum(t.h[60]),
                   usage_sum(t.h[61]), usage_sum(t.h[62]), usage_sum(t.h[63]),
                   usage_sum(t.h[64]), usage_sum(t.h[65]), usage_sum(t.h[66]),
                   usage_sum(t.h[67]), usage_sum(t.h[68]), usage_sum(t.h[69]),
                   usage_sum(t.h[70]), usage_sum(t.h[71]), usage_sum(t.h[72]),
                   usage_sum(t.h[73]), usage_sum(t.h[74]), usage_sum(t.h[75]),
                   usage_sum(t.h[76]), usage_sum(t.h[77]), usage_sum(t.h[78]),
                   usage_sum(t.h[79]), usage_sum(t.h[80]), usage_sum(t.h[81]),
                   usage_sum(t.h[82]), usage_sum(t.h[83]), usage_sum(t.h[84]),
                   usage_sum(t.h[85])
               ] AS h
        FROM by_target t
        GROUP BY t.bucket
    )
    -- Each histogram from the smallest latency's bucket to the largest's: the rest holds nothing.
    SELECT 'target', (extract(epoch FROM t.bucket) * 1000000)::bigint, t.target, t.requests,
           t.errors, t.failovers, t.cached, t.latency_min, t.latency_max,
           t.h[usage_latency_bucket(t.latency_min) + 1:usage_latency_bucket(t.latency_max) + 1]
    FROM by_target t
    UNION ALL
    SELECT 'bucket', (extract(epoch FROM b.bucket) * 1000000)::bigint, '', b.requests,
           b.errors, b.failovers, b.cached, b.latency_min, b.latency_max,
           b.h[usage_latency_bucket(b.latency_min) + 1:usage_latency_bucket(b.latency_max) + 1]
    FROM by_bucket b
    UNION ALL
    SELECT 'all', NULL, '', coalesce(a.requests, 0), coalesce(a.errors, 0),
           coalesce(a.failovers, 0), coalesce(a.cached, 0), a.latency_min, a.latency_max,
           a.h[usage_latency_bucket(a.latency_min) + 1:usage_latency_bucket(a.latency_max) + 1]
    FROM (
        SELECT usage_sum(b.requests) AS requests, usage_sum(b.errors) AS errors,
               usage_sum(b.failovers) AS failovers, usage_sum(b.cached) AS cached,
               min(b.latency_min) AS latency_min, max(b.latency_max) AS latency_max,
               ARRAY[
                   usage_sum(b.h[1]), usage_sum(b.h[2]), usage_sum(b.h[3]),
                   usage_sum(b.h[4]), usage_sum(b.h[5]), usage_sum(b.h[6]),
                   usage_sum(b.h[7]), usage_sum(b.h[8]), usage_sum(b.h[9]),
                   usage_sum(b.h[10]), usage_sum(b.h[11]), usage_sum(b.h[12]),
                   usage_sum(b.h[13]), usage_sum(b.h[14]), usage_sum(b.h[15]),
                   usage_sum(b.h[16]), usage_sum(b.h[17]), usage_sum(b.h[18]),
                   usage_sum(b.h[19]), usage_sum(b.h[20]), usage_sum(b.h[21]),
                   usage_sum(b.h[22]), usage_sum(b.h[23]), usage_sum(b.h[24]),
                   usage_sum(b.h[25]), usage_sum(b.h[26]), usage_sum(b.h[27]),
                   usage_sum(b.h[28]), usage_sum(b.h[29]), usage_sum(b.h[30]),
                   usage_sum(b.h[31]), usage_sum(b.h[32]), usage_sum(b.h[33]),
                   usage_sum(b.h[34]), usage_sum(b.h[35]), usage_sum(b.h[36]),
                   usage_sum(b.h[37]), usage_sum(b.h[38]), usage_sum(b.h[39]),
                   usage_sum(b.h[40]), usage_sum(b.h[41]), usage_sum(b.h[42]),
                   usage_sum(b.h[43]), usage_sum(b.h[44]), usage_sum(b.h[45]),
                   usage_sum(b.h[46]), usage_sum(b.h[47]), usage_sum(b.h[48]),
                   usage_sum(b.h[49]), usage_sum(b.h[50]), usage_sum(b.h[51]),
                   usage_sum(b.h[52]), usage_sum(b.h[53]), usage_sum(b.h[54]),
                   usage_sum(b.h[55]), usage_sum(b.h[56]), usage_sum(b.h[57]),
                   usage_sum(b.h[58]), usage_sum(b.h[59]), usage_sum(b.h[60]),
                   usage_sum(b.h[61]), usage_sum(b.h[62]), usage_sum(b.h[63]),
                   usage_sum(b.h[64]), usage_sum(b.h[65]), usage_sum(b.h[66]),
                   usage_sum(b.h[67]), usage_sum(b.h[68]), usage_sum(b.h[69]),
                   usage_sum(b.h[70]), usage_sum(b.h[71]), usage_sum(b.h[72]),
                   usage_sum(b.h[73]), usage_sum(b.h[74]), usage_sum(b.h[75]),
                   usage_sum(b.h[76]), usage_sum(b.h[77]), usage_sum(b.h[78]),
                   usage_sum(b.h[79]), usage_sum(b.h[80]), usage_sum(b.h[81]),
                   usage_sum(b.h[82]), usage_sum(b.h[83]), usage_sum(b.h[84]),
                   usage_sum(b.h[85])
               ] AS h
        FROM by_bucket b
    ) a
$$;

-- Requests per bucket and door: whole minutes from usage_minute_doors (or usage_minutes_by_key
-- when filtered by key id or outcome), the rest of the window from usage_events.
CREATE OR REPLACE FUNCTION usage_rollup_doors(
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
    SELECT (extract(epoch FROM bucket) * 1000000)::bigint, door, sum(requests)
    FROM (
        SELECT date_bin(make_interval(secs => p_bucket_seconds), pieces.moment,
                        timestamptz 'epoch') AS bucket,
               pieces.door, pieces.requests
        FROM (
            SELECT d.minute AS moment, d.door, d.requests
            FROM usage_minute_doors d
            WHERE p_key_id IS NULL AND p_outcome IS NULL
              AND d.minute >= usage_rollup_from(p_start, p_end, p_bucket_seconds, 60, p_request_id)
      AND d.minute < usage_rollup_to(p_start, p_end, p_bucket_seconds, 60, p_request_id)
              AND (p_target IS NULL OR d.target = p_target)
              AND (p_door IS NULL OR d.door = p_door)
            UNION ALL
            SELECT k.minute, k.door, k.requests
            FROM usage_minutes_by_key k
            WHERE (p_key_id IS NOT NULL OR p_outcome IS NOT NULL)
              AND k.minute >= usage_rollup_from(p_start, p_end, p_bucket_seconds, 60, p_request_id)
      AND k.minute < usage_rollup_to(p_start, p_end, p_bucket_seconds, 60, p_request_id)
              AND (p_target IS NULL OR k.target = p_target)
              AND (p_door IS NULL OR k.door = p_door)
              AND (p_key_id IS NULL OR k.api_key_id = p_key_id)
              AND (p_outcome IS NULL OR k.outcome = p_outcome)
            UNION ALL
            SELECT e.time, e.door, 1
            FROM usage_events e
            WHERE ((e.time >= p_start
            AND e.time < usage_rollup_from(p_start, p_end, p_bucket_seconds, 60, p_request_id))
           OR (e.time >= usage_rollup_to(p_start, p_end, p_bucket_seconds, 60, p_request_id)
               AND e.time < p_end))
      AND (p_target IS NULL OR e.target = p_target)
      AND (p_door IS NULL OR e.door = p_door)
      AND (p_key_id IS NULL OR e.api_key_id = p_key_id)
      AND (p_outcome IS NULL OR e.outcome = p_outcome)
      AND (p_request_id IS NULL OR e.request_id = p_request_id)
        ) pieces
    ) selected
    GROUP BY bucket, door
$$;

-- Counts over the whole window by rule and reason, door, operation, key id and target: whole
-- 10-minute periods from usage_choices, the rest of the window from usage_events.
CREATE OR REPLACE FUNCTION usage_rollup_breakdown(
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
    WITH selected AS (
        SELECT c.rule, c.reason, c.door, c.tool_or_method, c.api_key_id, c.target, c.requests
        FROM usage_choices c
        WHERE c.period_start >= usage_rollup_from(p_start, p_end, 600, 600, p_request_id)
          AND c.period_start < usage_rollup_to(p_start, p_end, 600, 600, p_request_id)
          AND (p_target IS NULL OR c.target = p_target)
          AND (p_door IS NULL OR c.door = p_door)
          AND (p_key_id IS NULL OR c.api_key_id = p_key_id)
          AND (p_outcome IS NULL OR c.outcome = p_outcome)
        UNION ALL
        SELECT e.rule, e.reason, e.door, e.tool_or_method, e.api_key_id, e.target, 1
        FROM usage_events e
        WHERE ((e.time >= p_start
                AND e.time < usage_rollup_from(p_start, p_end, 600, 600, p_request_id))
               OR (e.time >= usage_rollup_to(p_start, p_end, 600, 600, p_request_id)
                   AND e.time < p_end))
          AND (p_target IS NULL OR e.target = p_target)
          AND (p_door IS NULL OR e.door = p_door)
          AND (p_key_id IS NULL OR e.api_key_id = p_key_id)
          AND (p_outcome IS NULL OR e.outcome = p_outcome)
          AND (p_request_id IS NULL OR e.request_id = p_request_id)
    )
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
           sum(requests)::bigint
    FROM selected
    GROUP BY GROUPING SETS ((rule, reason), (door), (tool_or_method), (api_key_id), (target))
$$;
