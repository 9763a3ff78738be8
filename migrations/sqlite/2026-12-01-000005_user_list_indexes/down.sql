DROP INDEX users_updated_at;
DROP INDEX users_status_updated;
DROP INDEX users_status_created;
