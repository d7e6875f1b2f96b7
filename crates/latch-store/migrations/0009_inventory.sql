-- The inventory of connected AWS accounts. `inventory_items` is the current
-- snapshot; `inventory_changes` records per sync version what appeared,
-- changed and vanished, so any version's diff can be shown.
CREATE TABLE inventory_syncs (
    org_id      TEXT NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
    account_id  TEXT NOT NULL,
    version     BIGINT NOT NULL,
    status      TEXT NOT NULL CHECK (status IN ('running', 'done', 'failed')),
    cursor      TEXT NOT NULL,
    items       BIGINT NOT NULL DEFAULT 0,
    appeared    BIGINT NOT NULL DEFAULT 0,
    changed     BIGINT NOT NULL DEFAULT 0,
    vanished    BIGINT NOT NULL DEFAULT 0,
    error       TEXT,
    started_at  BIGINT NOT NULL,
    finished_at BIGINT,
    PRIMARY KEY (org_id, account_id, version)
);

CREATE TABLE inventory_items (
    org_id      TEXT NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
    account_id  TEXT NOT NULL,
    kind        TEXT NOT NULL,
    id          TEXT NOT NULL,
    hash        TEXT NOT NULL,
    data        TEXT NOT NULL,
    seen        BIGINT NOT NULL,
    PRIMARY KEY (org_id, account_id, kind, id)
);

CREATE INDEX inventory_items_seen ON inventory_items (org_id, account_id, seen);

CREATE TABLE inventory_changes (
    org_id      TEXT NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
    account_id  TEXT NOT NULL,
    version     BIGINT NOT NULL,
    change      TEXT NOT NULL CHECK (change IN ('appeared', 'changed', 'vanished')),
    kind        TEXT NOT NULL,
    id          TEXT NOT NULL,
    PRIMARY KEY (org_id, account_id, version, kind, id)
);
