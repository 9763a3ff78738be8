DROP INDEX IF EXISTS users_email_trgm;
DROP INDEX IF EXISTS users_phone_trgm;
DROP INDEX IF EXISTS users_username_trgm;
DROP INDEX users_username_prefix;
DROP INDEX users_email_prefix;
DROP INDEX users_phone_prefix;
DROP INDEX users_updated_at;
DROP INDEX users_status_updated;
DROP INDEX users_status_created;
