-- Claims look up due rows partner by partner (state, client_id, next_attempt_at), so a slow
-- partner's backlog is never read just to be skipped; the old (state, next_attempt_at) index
-- served the single time-ordered scan this replaces.
CREATE INDEX logout_deliveries_claim ON logout_deliveries (state, client_id, next_attempt_at);
DROP INDEX logout_deliveries_due;
