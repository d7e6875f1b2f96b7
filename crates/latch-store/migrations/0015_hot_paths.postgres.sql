-- PostgreSQL only. A foreign key check locks the parent row (FOR KEY
-- SHARE) until commit. Every write of an org checked the one `orgs` row,
-- so concurrent writers of one org all locked it together, which
-- PostgreSQL records as a MultiXact per new locker: the busiest org became
-- the bottleneck of every replica. Likewise each write about a request
-- locked the request's row while workers moved it on. Orgs and requests
-- are never deleted, so these checks only guarded against code that
-- inserts an unknown id; the store's writes take the ids from rows they
-- have read. SQLite keeps the keys: its checks take no row locks.
ALTER TABLE requests DROP CONSTRAINT IF EXISTS requests_org_id_fkey;
ALTER TABLE request_targets DROP CONSTRAINT IF EXISTS request_targets_request_id_fkey;
ALTER TABLE request_decisions DROP CONSTRAINT IF EXISTS request_decisions_request_id_fkey;
ALTER TABLE jobs DROP CONSTRAINT IF EXISTS jobs_org_id_fkey;
ALTER TABLE grants DROP CONSTRAINT IF EXISTS grants_org_id_fkey;
ALTER TABLE grants DROP CONSTRAINT IF EXISTS grants_request_id_fkey;
ALTER TABLE entitlements DROP CONSTRAINT IF EXISTS entitlements_org_id_fkey;
ALTER TABLE audit_log DROP CONSTRAINT IF EXISTS audit_log_org_id_fkey;
ALTER TABLE notifications DROP CONSTRAINT IF EXISTS notifications_org_id_fkey;
ALTER TABLE inventory_items DROP CONSTRAINT IF EXISTS inventory_items_org_id_fkey;
ALTER TABLE inventory_changes DROP CONSTRAINT IF EXISTS inventory_changes_org_id_fkey;
