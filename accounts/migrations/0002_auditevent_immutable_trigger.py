"""On PostgreSQL, refuse UPDATE and DELETE of audit events in the database itself.

The model already refuses them; the trigger also stops raw SQL, the shell and other programs. The
one update it lets through is the one-time sealing of a row whose hash is still empty, and then
only of the three sealing columns. TRUNCATE is left to operators (the test runner uses it).
"""

from django.db import migrations

CREATE = """
CREATE OR REPLACE FUNCTION accounts_auditevent_append_only() RETURNS trigger AS $$
DECLARE
    unsealed accounts_auditevent%ROWTYPE;
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'audit events are append-only: DELETE refused' USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF OLD.hash <> '' THEN
        RAISE EXCEPTION 'audit events are append-only: event % is sealed', OLD.id USING ERRCODE = 'insufficient_privilege';
    END IF;
    unsealed := NEW;
    unsealed.seq := OLD.seq;
    unsealed.prev_hash := OLD.prev_hash;
    unsealed.hash := OLD.hash;
    IF unsealed IS DISTINCT FROM OLD THEN
        RAISE EXCEPTION 'audit events are append-only: only sealing may update event %', OLD.id USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;

DROP TRIGGER IF EXISTS accounts_auditevent_append_only ON accounts_auditevent;
CREATE TRIGGER accounts_auditevent_append_only
    BEFORE UPDATE OR DELETE ON accounts_auditevent
    FOR EACH ROW EXECUTE FUNCTION accounts_auditevent_append_only();
"""

DROP = """
DROP TRIGGER IF EXISTS accounts_auditevent_append_only ON accounts_auditevent;
DROP FUNCTION IF EXISTS accounts_auditevent_append_only();
"""


def create_trigger(apps, schema_editor):  # type: ignore[no-untyped-def]
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE, params=None)


def drop_trigger(apps, schema_editor):  # type: ignore[no-untyped-def]
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP, params=None)


class Migration(migrations.Migration):
    dependencies = [("accounts", "0001_initial")]

    operations = [migrations.RunPython(create_trigger, drop_trigger, elidable=False)]
