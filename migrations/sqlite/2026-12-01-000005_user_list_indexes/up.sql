-- The operators' user list (GET /users): filters on status with a time sort walk one index.
CREATE INDEX users_status_created ON users (status, created_at, id);
CREATE INDEX users_status_updated ON users (status, updated_at, id);
CREATE INDEX users_updated_at ON users (updated_at, id);
