-- Why provisioning failed, shown to the requester (e.g. "role `Admin` not
-- found in AWS account `111111111111`").
ALTER TABLE requests ADD COLUMN failure TEXT;
