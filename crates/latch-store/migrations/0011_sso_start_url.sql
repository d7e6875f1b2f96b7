-- Identity Center accounts: the AWS access portal URL people sign in at
-- (`latch aws permission-set assume` starts the AWS SSO device flow there).
-- NULL means the default portal of the synced Identity Center instance.
ALTER TABLE aws_integrations ADD COLUMN sso_start_url TEXT;
