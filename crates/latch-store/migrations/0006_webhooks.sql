-- Webhooks (Slack-compatible, or generic JSON signed with HMAC-SHA256) and
-- the notifications queued for them; delivery is a job.
CREATE TABLE webhooks (
    id          TEXT PRIMARY KEY,
    org_id      TEXT NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
    url         TEXT NOT NULL,
    kind        TEXT NOT NULL CHECK (kind IN ('slack', 'generic')),
    secret      TEXT NOT NULL,
    events      TEXT NOT NULL,
    created_at  BIGINT NOT NULL
);

CREATE TABLE notifications (
    id          TEXT PRIMARY KEY,
    org_id      TEXT NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
    webhook_id  TEXT NOT NULL REFERENCES webhooks(id) ON DELETE CASCADE,
    event       TEXT NOT NULL,
    payload     TEXT NOT NULL,
    created_at  BIGINT NOT NULL
);
