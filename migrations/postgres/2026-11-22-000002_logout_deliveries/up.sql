-- The single-logout outbox: one row per partner system to tell that a session ended.
CREATE TABLE logout_deliveries (
    id TEXT PRIMARY KEY NOT NULL,
    client_id TEXT NOT NULL,
    sid TEXT NOT NULL,
    sub TEXT NOT NULL,
    logout_url TEXT NOT NULL,
    state TEXT NOT NULL DEFAULT 'pending',
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    next_attempt_at TIMESTAMP NOT NULL,
    locked_until TIMESTAMP
);
CREATE INDEX logout_deliveries_due ON logout_deliveries (state, next_attempt_at);
CREATE INDEX logout_deliveries_created ON logout_deliveries (created_at);
