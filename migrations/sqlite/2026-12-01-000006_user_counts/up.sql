-- Exact user counts per status, kept by the database itself (see the PostgreSQL migration).
CREATE TABLE user_counts (
    status TEXT PRIMARY KEY NOT NULL,
    n BIGINT NOT NULL
);
INSERT INTO user_counts (status, n) SELECT status, count(*) FROM users GROUP BY status;

CREATE TRIGGER user_counts_insert AFTER INSERT ON users BEGIN
    INSERT INTO user_counts (status, n) VALUES (NEW.status, 1)
        ON CONFLICT (status) DO UPDATE SET n = n + 1;
END;
CREATE TRIGGER user_counts_delete AFTER DELETE ON users BEGIN
    UPDATE user_counts SET n = n - 1 WHERE status = OLD.status;
END;
CREATE TRIGGER user_counts_update AFTER UPDATE OF status ON users
    WHEN OLD.status IS NOT NEW.status BEGIN
    UPDATE user_counts SET n = n - 1 WHERE status = OLD.status;
    INSERT INTO user_counts (status, n) VALUES (NEW.status, 1)
        ON CONFLICT (status) DO UPDATE SET n = n + 1;
END;
