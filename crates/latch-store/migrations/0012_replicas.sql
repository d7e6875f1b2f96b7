-- Replicas of `latch server` on this database. Each holds a liveness lock
-- for as long as its process lives (PostgreSQL: a session advisory lock on
-- `lock_key`; SQLite: an exclusive lock on a file named after `id`), so a
-- replica that crashed is recognised at once and the jobs and entitlements
-- it held are freed, instead of waiting for their leases to lapse.
CREATE TABLE replicas (
    id          TEXT PRIMARY KEY,
    lock_key    BIGINT NOT NULL,
    joined_at   BIGINT NOT NULL
);
