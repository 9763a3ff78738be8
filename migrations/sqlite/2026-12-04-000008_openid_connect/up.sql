-- OpenID Connect (PROTOCOLS §2-3): a partner's OIDC registration, what a session's sign-in
-- was (auth_time, amr), what kind of message a logout delivery carries, and the OAuth tokens
-- issued to OIDC partners (access tokens by jti, refresh tokens by SHA-256), so a refresh
-- survives a restart and a client's tokens in a session can be revoked together.
ALTER TABLE clients ADD COLUMN redirect_uris TEXT NOT NULL DEFAULT '[]';
ALTER TABLE clients ADD COLUMN post_logout_redirect_uris TEXT NOT NULL DEFAULT '[]';
ALTER TABLE clients ADD COLUMN token_endpoint_auth_method TEXT;
ALTER TABLE clients ADD COLUMN id_token_signed_response_alg TEXT;

-- When the phone or e-mail was last proven with a code (OIDC `*_verified`); unknown before.
ALTER TABLE users ADD COLUMN phone_verified_at TIMESTAMP;
ALTER TABLE users ADD COLUMN email_verified_at TIMESTAMP;

ALTER TABLE sessions ADD COLUMN auth_time TIMESTAMP;
ALTER TABLE sessions ADD COLUMN amr TEXT;

ALTER TABLE logout_deliveries ADD COLUMN kind TEXT NOT NULL DEFAULT 'logout_token';
-- The partner's signing algorithm when the delivery was queued (OIDC partners choose theirs).
ALTER TABLE logout_deliveries ADD COLUMN alg TEXT NOT NULL DEFAULT 'EdDSA';

CREATE TABLE oauth_tokens (
    id TEXT PRIMARY KEY NOT NULL,
    kind TEXT NOT NULL,
    client_id TEXT NOT NULL REFERENCES clients (client_id) ON DELETE CASCADE,
    sid TEXT NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    user_id TEXT NOT NULL,
    scope TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    spent_at TIMESTAMP
);
CREATE INDEX oauth_tokens_grant ON oauth_tokens (sid, client_id);
CREATE INDEX oauth_tokens_expiry ON oauth_tokens (expires_at);
