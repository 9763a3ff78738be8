-- Token signing keys (CONTRACT §9), shared by every instance. A key's state follows from its
-- times: published until `activates_at`, then active until a later key of its alg activates,
-- then retiring until every token it signed has passed its refresh window, then deleted.
-- `private_key` is the PKCS#8 document in base64, or sealed under the key-encryption key
-- (`sealed:` prefix) when one is configured.
CREATE TABLE signing_keys (
    kid TEXT PRIMARY KEY NOT NULL,
    alg TEXT NOT NULL,
    private_key TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    activates_at TIMESTAMP NOT NULL
);
