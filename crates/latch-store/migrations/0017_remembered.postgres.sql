-- Every replica remembers who a credential belongs to and which events an
-- org's webhooks want (the store's `remembered` answers), and forgets
-- them when it hears of a change on channel `latch_changes`, with the
-- org's id as payload. These triggers send it for every change that can
-- alter those answers, by whatever writes it: a credential revoked or
-- deleted, a person's role, email or removal, a group's name or members, a
-- new policy version, the org's slug, any change to its webhooks. New
-- credentials and people need no notice (nothing remembered can name
-- them). A notification is sent on commit, and only then.
CREATE FUNCTION latch_row_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        PERFORM pg_notify('latch_changes', OLD.org_id);
    ELSE
        PERFORM pg_notify('latch_changes', NEW.org_id);
    END IF;
    RETURN NULL;
END $$;

CREATE FUNCTION latch_org_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('latch_changes', OLD.id);
    RETURN NULL;
END $$;

-- Access tokens name their session only; the session's org, or every org
-- when the session is gone already.
CREATE FUNCTION latch_access_token_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('latch_changes', COALESCE((SELECT s.org_id FROM sessions s WHERE s.id = OLD.session_id), ''));
    RETURN NULL;
END $$;

-- Recording an API token's use (`last_used_at`) changes nothing cached.
CREATE TRIGGER api_tokens_changed AFTER UPDATE OF org_id, user_id, scopes, hash, expires_at, revoked_at OR DELETE ON api_tokens
    FOR EACH ROW EXECUTE FUNCTION latch_row_changed();
CREATE TRIGGER sessions_changed AFTER UPDATE OF org_id, user_id, kind, secret_hash, expires_at, revoked_at OR DELETE ON sessions
    FOR EACH ROW EXECUTE FUNCTION latch_row_changed();
CREATE TRIGGER access_tokens_changed AFTER UPDATE OR DELETE ON access_tokens
    FOR EACH ROW EXECUTE FUNCTION latch_access_token_changed();
-- Passwords and second factors are not part of what a credential resolves to.
CREATE TRIGGER users_changed AFTER UPDATE OF id, org_id, email, role OR DELETE ON users
    FOR EACH ROW EXECUTE FUNCTION latch_row_changed();
CREATE TRIGGER groups_changed AFTER UPDATE OR DELETE ON groups_
    FOR EACH ROW EXECUTE FUNCTION latch_row_changed();
CREATE TRIGGER group_members_changed AFTER INSERT OR UPDATE OR DELETE ON group_members
    FOR EACH ROW EXECUTE FUNCTION latch_row_changed();
CREATE TRIGGER policies_changed AFTER INSERT OR UPDATE OR DELETE ON policies
    FOR EACH ROW EXECUTE FUNCTION latch_row_changed();
CREATE TRIGGER webhooks_changed AFTER INSERT OR UPDATE OR DELETE ON webhooks
    FOR EACH ROW EXECUTE FUNCTION latch_row_changed();
CREATE TRIGGER orgs_changed AFTER UPDATE OF id, slug OR DELETE ON orgs
    FOR EACH ROW EXECUTE FUNCTION latch_org_changed();
