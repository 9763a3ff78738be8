CREATE INDEX logout_deliveries_due ON logout_deliveries (state, next_attempt_at);
DROP INDEX logout_deliveries_claim;
