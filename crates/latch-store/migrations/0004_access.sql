-- Access policies (versioned TOML) and requests with their targets and
-- decisions. Requests keep the requester's and approvers' emails as they
-- were, and outlive the users (no foreign keys to users): history stays.
CREATE TABLE policies (
    org_id      TEXT NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
    version     BIGINT NOT NULL,
    source      TEXT NOT NULL,
    created_by  TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    PRIMARY KEY (org_id, version)
);

CREATE TABLE requests (
    id               TEXT PRIMARY KEY,
    org_id           TEXT NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
    requester_id     TEXT NOT NULL,
    requester_email  TEXT NOT NULL,
    rule_name        TEXT NOT NULL,
    policy_version   BIGINT NOT NULL,
    reason           TEXT NOT NULL,
    duration_secs    BIGINT NOT NULL,
    state            TEXT NOT NULL,
    end_reason       TEXT,
    break_glass      BIGINT NOT NULL,
    created_at       BIGINT NOT NULL,
    pending_until    BIGINT NOT NULL,
    decided_at       BIGINT,
    expires_at       BIGINT,
    updated_at       BIGINT NOT NULL
);
CREATE INDEX requests_org_state ON requests (org_id, state);
CREATE INDEX requests_org_requester ON requests (org_id, requester_id);

CREATE TABLE request_targets (
    request_id   TEXT NOT NULL REFERENCES requests(id) ON DELETE CASCADE,
    idx          BIGINT NOT NULL,
    integration  TEXT NOT NULL,
    account      TEXT NOT NULL,
    kind         TEXT NOT NULL,
    name         TEXT NOT NULL,
    level        TEXT,
    PRIMARY KEY (request_id, idx)
);

CREATE TABLE request_decisions (
    request_id      TEXT NOT NULL REFERENCES requests(id) ON DELETE CASCADE,
    approver_id     TEXT NOT NULL,
    approver_email  TEXT NOT NULL,
    decision        TEXT NOT NULL CHECK (decision IN ('approve', 'deny')),
    reason          TEXT NOT NULL,
    at              BIGINT NOT NULL,
    PRIMARY KEY (request_id, approver_id)
);
