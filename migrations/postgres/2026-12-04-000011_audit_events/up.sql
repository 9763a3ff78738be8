-- The audit trail (CONTRACT §9): security-relevant events, written in the transaction of the
-- change they record, kept GATEHOUSE_AUDIT_RETENTION_DAYS days. No foreign keys: an event
-- outlives the account, partner or session it names.
CREATE TABLE audit_events (
    id TEXT PRIMARY KEY NOT NULL,
    at TIMESTAMP NOT NULL,
    event TEXT NOT NULL,
    user_id TEXT,
    actor_id TEXT,
    client_id TEXT,
    ip TEXT,
    user_agent TEXT,
    detail TEXT NOT NULL
);
CREATE INDEX audit_events_at ON audit_events (at);
CREATE INDEX audit_events_user ON audit_events (user_id, at);
CREATE INDEX audit_events_client ON audit_events (client_id, at);
CREATE INDEX audit_events_event ON audit_events (event, at);
