-- Federated accounts: whether AWS trusts Latch's OpenID Connect tokens
-- (`oidc`, an IAM OIDC provider) or its SAML assertions (`saml`, an IAM SAML
-- provider made from Latch's metadata).
ALTER TABLE aws_integrations ADD COLUMN federation TEXT NOT NULL DEFAULT 'oidc';
