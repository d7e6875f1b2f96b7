-- AWS accounts connected to an org. The ExternalId is per org x account and
-- never changes once issued (the customer's trust policy names it).
CREATE TABLE aws_integrations (
    org_id        TEXT NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
    account_id    TEXT NOT NULL,
    alias         TEXT,
    mode          TEXT NOT NULL CHECK (mode IN ('iam-users', 'identity-center', 'federated')),
    user_lookup   TEXT NOT NULL,
    inventory     BIGINT NOT NULL,
    organizations BIGINT NOT NULL,
    role_name     TEXT NOT NULL,
    external_id   TEXT NOT NULL,
    status        TEXT NOT NULL CHECK (status IN ('pending', 'installed')),
    missing       TEXT NOT NULL,
    verified_at   BIGINT,
    created_at    BIGINT NOT NULL,
    PRIMARY KEY (org_id, account_id)
);

CREATE UNIQUE INDEX aws_integrations_alias ON aws_integrations (org_id, alias);
