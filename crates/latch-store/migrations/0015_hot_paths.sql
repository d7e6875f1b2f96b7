-- The request path's hot spots.
--
-- Due jobs are found through two partial indexes, so neither the claim nor
-- the wake-up time walks finished jobs: queued ones by run time, running
-- ones by lease end (a lease that ran out is a crashed worker's job).
CREATE INDEX jobs_queued ON jobs (run_at, id) WHERE state = 'queued';
CREATE INDEX jobs_leased ON jobs (lease_until) WHERE state = 'running';
DROP INDEX jobs_due;

-- An audit append on PostgreSQL is one statement that moves the head and
-- writes the record; the head keeps the hash it replaced for the record.
ALTER TABLE audit_heads ADD COLUMN prev_hash TEXT NOT NULL DEFAULT '';
