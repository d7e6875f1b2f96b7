-- The last TOTP step a user signed in with: a code is refused the second
-- time it is presented.
ALTER TABLE users ADD COLUMN totp_last_step BIGINT;
