-- Exact user counts per status, kept by the database itself, so the operators' list can say
-- how many users there are (no filter, or a status filter) without counting a million rows
-- on every page. Statement-level triggers with transition tables: a bulk insert or update
-- adjusts each status once, not once per row.
CREATE TABLE user_counts (
    status TEXT PRIMARY KEY NOT NULL,
    n BIGINT NOT NULL
);
INSERT INTO user_counts (status, n) SELECT status, count(*) FROM users GROUP BY status;

CREATE FUNCTION user_counts_add() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO user_counts (status, n)
        SELECT status, count(*) FROM added GROUP BY status
        ON CONFLICT (status) DO UPDATE SET n = user_counts.n + EXCLUDED.n;
    RETURN NULL;
END
$$;

CREATE FUNCTION user_counts_remove() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE user_counts SET n = user_counts.n - r.n
        FROM (SELECT status, count(*) AS n FROM removed GROUP BY status) r
        WHERE user_counts.status = r.status;
    RETURN NULL;
END
$$;

CREATE FUNCTION user_counts_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- Only rows whose status changed move between counts.
    UPDATE user_counts SET n = user_counts.n - r.n
        FROM (SELECT o.status, count(*) AS n FROM removed o JOIN added a ON a.id = o.id
              WHERE a.status IS DISTINCT FROM o.status GROUP BY o.status) r
        WHERE user_counts.status = r.status;
    INSERT INTO user_counts (status, n)
        SELECT a.status, count(*) FROM added a JOIN removed o ON o.id = a.id
        WHERE a.status IS DISTINCT FROM o.status GROUP BY a.status
        ON CONFLICT (status) DO UPDATE SET n = user_counts.n + EXCLUDED.n;
    RETURN NULL;
END
$$;

CREATE TRIGGER user_counts_insert AFTER INSERT ON users
    REFERENCING NEW TABLE AS added FOR EACH STATEMENT EXECUTE FUNCTION user_counts_add();
CREATE TRIGGER user_counts_delete AFTER DELETE ON users
    REFERENCING OLD TABLE AS removed FOR EACH STATEMENT EXECUTE FUNCTION user_counts_remove();
CREATE TRIGGER user_counts_update AFTER UPDATE ON users
    REFERENCING OLD TABLE AS removed NEW TABLE AS added
    FOR EACH STATEMENT EXECUTE FUNCTION user_counts_change();
