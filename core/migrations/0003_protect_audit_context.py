"""Audit contexts (who / why / request of a group of events) may not be deleted or rewritten.

pghistory upserts a context row for every statement of a block, so UPDATE must stay possible; what
may not change is the metadata once written.
"""

from django.db import migrations

SQL = """
CREATE OR REPLACE FUNCTION ivf_protect_audit_context() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'audit contexts cannot be deleted' USING ERRCODE = 'check_violation';
    END IF;
    IF NEW.metadata IS DISTINCT FROM OLD.metadata OR NEW.created_at IS DISTINCT FROM OLD.created_at THEN
        RAISE EXCEPTION 'audit context % cannot be rewritten', OLD.id USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER ivf_protect_audit_context
    BEFORE UPDATE OR DELETE ON pghistory_context
    FOR EACH ROW EXECUTE FUNCTION ivf_protect_audit_context();
"""

REVERSE = """
DROP TRIGGER IF EXISTS ivf_protect_audit_context ON pghistory_context;
DROP FUNCTION IF EXISTS ivf_protect_audit_context();
"""


class Migration(migrations.Migration):
    dependencies = [("core", "0002_seed_trial_configuration"), ("pghistory", "0007_auto_20250421_0444")]
    operations = [migrations.RunSQL(SQL, REVERSE)]
