-- PostgreSQL only (0017_remembered.postgres.sql): SQLite's lookups of
-- credentials and webhooks are in-process reads and are not remembered.
SELECT 1;
