-- Audit events are written unchained, in the transaction of the change they
-- record; a sealer chains them onto the org's head in batches. So a change
-- never waits for the org's chain head (every writer of an org did, one at
-- a time), and the chain still has one order without gaps. `id` is that
-- order within what is waiting: increasing in the order events are written.
CREATE TABLE audit_pending (
    id      INTEGER PRIMARY KEY,
    org_id  TEXT NOT NULL,
    at      BIGINT NOT NULL,
    actor   TEXT NOT NULL,
    action  TEXT NOT NULL,
    target  TEXT NOT NULL,
    detail  TEXT NOT NULL
);
CREATE INDEX audit_pending_org ON audit_pending (org_id, id);

-- The one-statement append of migration 15 kept the replaced hash here.
ALTER TABLE audit_heads DROP COLUMN prev_hash;
