DROP INDEX sessions_browser_key;
ALTER TABLE sessions DROP COLUMN browser_key;
