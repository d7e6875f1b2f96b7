-- Single sign-on: one upstream OpenID Connect provider per org, and the
-- short-lived state of sign-ins in flight (shared by every replica).
CREATE TABLE org_sso (
    org_id         TEXT PRIMARY KEY REFERENCES orgs(id) ON DELETE CASCADE,
    issuer         TEXT NOT NULL,
    client_id      TEXT NOT NULL,
    client_secret  TEXT NOT NULL,
    groups_claim   TEXT NOT NULL,
    auto_create    BIGINT NOT NULL,
    default_role   TEXT NOT NULL CHECK (default_role IN ('member', 'approver', 'admin')),
    updated_at     BIGINT NOT NULL
);

CREATE TABLE sso_states (
    state_hash     TEXT PRIMARY KEY,
    org_id         TEXT NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
    nonce          TEXT NOT NULL,
    pkce_verifier  TEXT NOT NULL,
    next           TEXT NOT NULL,
    expires_at     BIGINT NOT NULL
);
