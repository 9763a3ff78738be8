-- Browser sessions: the hash of the session cookie's secret.
ALTER TABLE sessions ADD COLUMN browser_key TEXT;
CREATE UNIQUE INDEX sessions_browser_key ON sessions (browser_key);
