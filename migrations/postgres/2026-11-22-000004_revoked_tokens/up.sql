-- Tokens replaced by a refresh: they stop working at once, and presenting one again for
-- refresh ends its session (theft).
CREATE TABLE revoked_tokens (
    jti TEXT PRIMARY KEY NOT NULL,
    sid TEXT NOT NULL,
    expires_at TIMESTAMP NOT NULL
);
CREATE INDEX revoked_tokens_sid ON revoked_tokens (sid);
