"""The audit chain becomes keyed (HMAC) and the database guards it (accounts/audit/chain.py).

- `AuditChainHead.legacy_until`: the events sealed before this migration keep their plain SHA-256;
  every event sealed after it is keyed. Each existing chain's boundary is its current length.
- On PostgreSQL: TRUNCATE of the audit log or its chain heads is refused unless the session says
  `SET gatehouse.allow_audit_truncate = 'on'` (an operator's deliberate act; the test runner's flush
  sets it), and a chain head can neither be deleted nor moved backwards.
"""

from django.db import migrations, models

SET_BOUNDARIES = "UPDATE accounts_auditchainhead SET legacy_until = seq"

CREATE = """
CREATE OR REPLACE FUNCTION accounts_audit_no_truncate() RETURNS trigger AS $$
BEGIN
    IF coalesce(current_setting('gatehouse.allow_audit_truncate', true), '') <> 'on' THEN
        RAISE EXCEPTION 'the audit log cannot be truncated (%)', TG_TABLE_NAME USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE OR REPLACE FUNCTION accounts_auditchainhead_forward_only() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'audit chain heads cannot be deleted' USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF NEW.organization_id <> OLD.organization_id
        OR NEW.legacy_until <> OLD.legacy_until
        OR NEW.seq < OLD.seq
        OR (NEW.seq = OLD.seq AND NEW.hash <> OLD.hash) THEN
        RAISE EXCEPTION 'audit chain heads only move forward' USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;

DROP TRIGGER IF EXISTS accounts_auditevent_no_truncate ON accounts_auditevent;
CREATE TRIGGER accounts_auditevent_no_truncate
    BEFORE TRUNCATE ON accounts_auditevent
    FOR EACH STATEMENT EXECUTE FUNCTION accounts_audit_no_truncate();
DROP TRIGGER IF EXISTS accounts_auditchainhead_no_truncate ON accounts_auditchainhead;
CREATE TRIGGER accounts_auditchainhead_no_truncate
    BEFORE TRUNCATE ON accounts_auditchainhead
    FOR EACH STATEMENT EXECUTE FUNCTION accounts_audit_no_truncate();
DROP TRIGGER IF EXISTS accounts_auditchainhead_forward_only ON accounts_auditchainhead;
CREATE TRIGGER accounts_auditchainhead_forward_only
    BEFORE UPDATE OR DELETE ON accounts_auditchainhead
    FOR EACH ROW EXECUTE FUNCTION accounts_auditchainhead_forward_only();
"""

DROP = """
DROP TRIGGER IF EXISTS accounts_auditevent_no_truncate ON accounts_auditevent;
DROP TRIGGER IF EXISTS accounts_auditchainhead_no_truncate ON accounts_auditchainhead;
DROP TRIGGER IF EXISTS accounts_auditchainhead_forward_only ON accounts_auditchainhead;
DROP FUNCTION IF EXISTS accounts_audit_no_truncate();
DROP FUNCTION IF EXISTS accounts_auditchainhead_forward_only();
"""


def create_guards(apps, schema_editor):  # type: ignore[no-untyped-def]
    schema_editor.execute(SET_BOUNDARIES, params=None)
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE, params=None)


def drop_guards(apps, schema_editor):  # type: ignore[no-untyped-def]
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP, params=None)


class Migration(migrations.Migration):
    dependencies = [("accounts", "0003_oauthgrant_replay_detection")]

    operations = [
        migrations.AddField(
            model_name="auditchainhead",
            name="legacy_until",
            field=models.BigIntegerField(default=0, editable=False),
        ),
        migrations.RunPython(create_guards, drop_guards, elidable=False),
    ]
