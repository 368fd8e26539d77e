"""Row-level security on the pipeline's tables, the portal's database role, and job notifications.

The portal reads these tables as its own login role (``EXAM_PORTAL_DB_USER``,
``exam_app`` by default): no superuser, no BYPASSRLS, not the tables' owner,
granted SELECT on what it shows and INSERT -- never UPDATE or DELETE -- on the
audit table.  Its policies show a row when its owner is the user named by the
transaction-local setting ``exam.owner_id``, or every row when ``exam.staff``
is on; with neither set they show nothing.  The tables' owner (the role that
runs this migration, and the workers, relay and sweeper after it) is not
subject to them: RLS is enabled, not forced.

A trigger notifies channel ``exam_job`` with the job's id -- nothing else --
whenever a job is created or its state or attempt changes; the portal's
event stream LISTENs there.
"""

from django.conf import settings
from django.db import IntegrityError, migrations, transaction
from django.db.utils import ProgrammingError

FORWARD = """
CREATE FUNCTION exam_owner_id() RETURNS bigint LANGUAGE sql STABLE AS
$$ SELECT nullif(current_setting('exam.owner_id', true), '')::bigint $$;
CREATE FUNCTION exam_is_staff() RETURNS boolean LANGUAGE sql STABLE AS
$$ SELECT coalesce(nullif(current_setting('exam.staff', true), '')::boolean, false) $$;

ALTER TABLE pipeline_instance ENABLE ROW LEVEL SECURITY;
CREATE POLICY owner_reads ON pipeline_instance FOR SELECT
    USING (exam_is_staff() OR owner_id = exam_owner_id());
ALTER TABLE pipeline_job ENABLE ROW LEVEL SECURITY;
CREATE POLICY owner_reads ON pipeline_job FOR SELECT
    USING (exam_is_staff() OR owner_id = exam_owner_id());
ALTER TABLE pipeline_result ENABLE ROW LEVEL SECURITY;
CREATE POLICY owner_reads ON pipeline_result FOR SELECT
    USING (job_id IN (SELECT id FROM pipeline_job
                      WHERE exam_is_staff() OR owner_id = exam_owner_id()));
ALTER TABLE pipeline_auditevent ENABLE ROW LEVEL SECURITY;
CREATE POLICY owner_reads ON pipeline_auditevent FOR SELECT
    USING (exam_is_staff() OR owner_id = exam_owner_id());
CREATE POLICY actor_appends ON pipeline_auditevent FOR INSERT
    WITH CHECK (actor_id = exam_owner_id());
-- The outbox holds no PHI; only the operations page (staff) reads it.
ALTER TABLE pipeline_outbox ENABLE ROW LEVEL SECURITY;
CREATE POLICY staff_reads ON pipeline_outbox FOR SELECT USING (exam_is_staff());

CREATE FUNCTION exam_notify_job() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND OLD.state = NEW.state AND OLD.attempt = NEW.attempt THEN
        RETURN NULL;
    END IF;
    PERFORM pg_notify('exam_job', NEW.id::text);
    RETURN NULL;
END $$;
CREATE TRIGGER job_notify AFTER INSERT OR UPDATE ON pipeline_job
    FOR EACH ROW EXECUTE FUNCTION exam_notify_job();
"""

BACKWARD = """
DROP TRIGGER job_notify ON pipeline_job;
DROP FUNCTION exam_notify_job();
DROP POLICY staff_reads ON pipeline_outbox;
ALTER TABLE pipeline_outbox DISABLE ROW LEVEL SECURITY;
DROP POLICY actor_appends ON pipeline_auditevent;
DROP POLICY owner_reads ON pipeline_auditevent;
ALTER TABLE pipeline_auditevent DISABLE ROW LEVEL SECURITY;
DROP POLICY owner_reads ON pipeline_result;
ALTER TABLE pipeline_result DISABLE ROW LEVEL SECURITY;
DROP POLICY owner_reads ON pipeline_job;
ALTER TABLE pipeline_job DISABLE ROW LEVEL SECURITY;
DROP POLICY owner_reads ON pipeline_instance;
ALTER TABLE pipeline_instance DISABLE ROW LEVEL SECURITY;
DROP FUNCTION exam_is_staff();
DROP FUNCTION exam_owner_id();
"""


def grant(apps, schema_editor):
    """Create the portal's role unless the server has it (roles are per server), then grant."""
    connection = schema_editor.connection
    role = connection.ops.quote_name(settings.EXAM_PORTAL_DB_USER)
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [settings.EXAM_PORTAL_DB_USER])
        if cursor.fetchone() is None:
            try:
                # A savepoint: another database's migration may create it at the same moment.
                with transaction.atomic(using=connection.alias):
                    cursor.execute(
                        f"CREATE ROLE {role} LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB "
                        "NOCREATEROLE PASSWORD %s",
                        [settings.EXAM_PORTAL_DB_PASSWORD or None],
                    )
            except (IntegrityError, ProgrammingError):
                cursor.execute(
                    "SELECT 1 FROM pg_roles WHERE rolname = %s", [settings.EXAM_PORTAL_DB_USER]
                )
                if cursor.fetchone() is None:
                    raise
        cursor.execute(f"GRANT USAGE ON SCHEMA {connection.ops.quote_name('public')} TO {role}")
        cursor.execute(
            "GRANT SELECT ON pipeline_instance, pipeline_job, pipeline_result, pipeline_outbox "
            f"TO {role}"
        )
        cursor.execute(f"GRANT SELECT, INSERT ON pipeline_auditevent TO {role}")
        cursor.execute(f"GRANT SELECT (id, username) ON auth_user TO {role}")


def revoke(apps, schema_editor):
    """Take the grants back (the role stays: other databases on the server may use it)."""
    connection = schema_editor.connection
    role = connection.ops.quote_name(settings.EXAM_PORTAL_DB_USER)
    with connection.cursor() as cursor:
        cursor.execute(
            "REVOKE ALL ON pipeline_instance, pipeline_job, pipeline_result, pipeline_outbox, "
            f"pipeline_auditevent FROM {role}"
        )
        cursor.execute(f"REVOKE ALL (id, username) ON auth_user FROM {role}")


class Migration(migrations.Migration):
    dependencies = [
        ("pipeline", "0002_dicom_interfaces"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RunSQL(FORWARD, BACKWARD),
        migrations.RunPython(grant, revoke),
    ]
