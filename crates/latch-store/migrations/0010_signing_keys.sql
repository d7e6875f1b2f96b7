-- Each org's key for the tokens Latch signs as an OpenID Connect issuer
-- (AWS federation). One current key per org; its public half is served at
-- /oidc/{org}/jwks.json.
CREATE TABLE signing_keys (
    org_id      TEXT PRIMARY KEY REFERENCES orgs(id) ON DELETE CASCADE,
    kid         TEXT NOT NULL,
    private_pem TEXT NOT NULL,
    created_at  BIGINT NOT NULL
);
