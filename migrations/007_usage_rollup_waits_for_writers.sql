-- A delete or update of usage_events recomputes the rollups of the 10-minute periods it touched
-- (005). A writer whose transaction was still open then could see its rollup row survive the
-- recompute's DELETE (not yet visible to it) and its rows counted again by the recompute's INSERT
-- (visible by then): the rollups read one request twice. tests/usage/test_rollup.py shows it.
--
-- From here the recompute first takes usage_events in SHARE ROW EXCLUSIVE mode: it waits for the
-- writers in flight to commit, and new writers wait for it. Two deletes of old rows at once may
-- deadlock on that lock; PostgreSQL then aborts one, which can be retried (run retention from one
-- job). Running 005 again by hand puts back its unlocked triggers: run this file after it.
-- Idempotent: safe to run again, by `apply_migrations` or by hand.

CREATE OR REPLACE FUNCTION usage_rollup_on_delete() RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
    LOCK TABLE usage_events IN SHARE ROW EXCLUSIVE MODE;
    PERFORM usage_rollup_refresh(min(time), max(time)) FROM removed;
    RETURN NULL;
END
$$;

CREATE OR REPLACE FUNCTION usage_rollup_on_update() RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
    LOCK TABLE usage_events IN SHARE ROW EXCLUSIVE MODE;
    PERFORM usage_rollup_refresh(min(time), max(time))
    FROM (SELECT time FROM removed UNION ALL SELECT time FROM added) touched;
    RETURN NULL;
END
$$;
