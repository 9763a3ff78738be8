-- A partner's pending deliveries oldest first, for the backlog cap (state, client_id,
-- created_at) and the per-partner backlog views.
CREATE INDEX logout_deliveries_backlog ON logout_deliveries (state, client_id, created_at);
