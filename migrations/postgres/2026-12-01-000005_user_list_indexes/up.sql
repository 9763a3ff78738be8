-- The operators' user list (GET /users) over millions of accounts: filters on status with a
-- time sort walk one index in order; prefix searches use pattern-ops indexes (the column
-- collation is usually not "C", so the unique indexes cannot serve LIKE 'x%'); contains
-- searches use trigram indexes when pg_trgm can be had.
CREATE INDEX users_status_created ON users (status, created_at, id);
CREATE INDEX users_status_updated ON users (status, updated_at, id);
CREATE INDEX users_updated_at ON users (updated_at, id);
CREATE INDEX users_phone_prefix ON users (phone text_pattern_ops);
CREATE INDEX users_email_prefix ON users (email text_pattern_ops);
CREATE INDEX users_username_prefix ON users (username_lower text_pattern_ops);

-- pg_trgm is a trusted extension (PostgreSQL 13+): a database owner may create it. Where it
-- is missing or not allowed, contains-searches still work, by scanning.
DO $$
BEGIN
    CREATE EXTENSION IF NOT EXISTS pg_trgm;
EXCEPTION WHEN OTHERS THEN
    RAISE NOTICE 'pg_trgm unavailable (%): user contains-searches will scan', SQLERRM;
END
$$;

DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm') THEN
        CREATE INDEX users_username_trgm ON users USING gin (username_lower gin_trgm_ops);
        CREATE INDEX users_phone_trgm ON users USING gin (phone gin_trgm_ops);
        CREATE INDEX users_email_trgm ON users USING gin (email gin_trgm_ops);
    END IF;
END
$$;
