-- PostgreSQL only (0017_credential_changes.postgres.sql): SQLite's
-- credential lookups are in-process reads and are not cached.
SELECT 1;
