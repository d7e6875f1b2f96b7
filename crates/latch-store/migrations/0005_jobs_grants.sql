-- Durable jobs (lease + heartbeat, retries, idempotency keys, dead letters),
-- and the grants of requests with per-person entitlements: access to one
-- entitlement is removed only when no grant holds it any more.
CREATE TABLE jobs (
    id               TEXT PRIMARY KEY,
    org_id           TEXT NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
    kind             TEXT NOT NULL,
    subject          TEXT NOT NULL,
    idempotency_key  TEXT NOT NULL UNIQUE,
    state            TEXT NOT NULL CHECK (state IN ('queued', 'running', 'done', 'dead')),
    attempts         BIGINT NOT NULL,
    max_attempts     BIGINT NOT NULL,
    run_at           BIGINT NOT NULL,
    lease_owner      TEXT,
    lease_until      BIGINT,
    last_error       TEXT,
    created_at       BIGINT NOT NULL,
    updated_at       BIGINT NOT NULL
);
CREATE INDEX jobs_due ON jobs (state, run_at);

CREATE TABLE grants (
    org_id       TEXT NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
    request_id   TEXT NOT NULL REFERENCES requests(id) ON DELETE CASCADE,
    idx          BIGINT NOT NULL,
    user_id      TEXT NOT NULL,
    ent_key      TEXT NOT NULL,
    state        TEXT NOT NULL CHECK (state IN ('held', 'released')),
    held_at      BIGINT NOT NULL,
    released_at  BIGINT,
    PRIMARY KEY (request_id, idx)
);
CREATE INDEX grants_holders ON grants (org_id, user_id, ent_key, state);

CREATE TABLE entitlements (
    org_id      TEXT NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
    user_id     TEXT NOT NULL,
    ent_key     TEXT NOT NULL,
    applied     TEXT,
    busy_by     TEXT,
    busy_until  BIGINT,
    PRIMARY KEY (org_id, user_id, ent_key)
);
