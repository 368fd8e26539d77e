#!/usr/bin/env bash
# Start the machine's own PostgreSQL (Debian's packaged cluster, installed if
# missing) and make sure the role the test suite logs in with exists; print
# the DATABASE_URL to use.  Safe to run again: everything is "if not yet".
# Needs root (apt-get, su postgres), as CI and the developers' machines have.
set -euo pipefail

ROLE=exam_ci
PASSWORD=exam_ci
# The portal's role (EXAM_PORTAL_DB_USER): it logs in, and row-level security
# applies to it; the migrations grant it what the portal reads.
PORTAL_ROLE=exam_app
PORTAL_PASSWORD=exam_app

if ! command -v pg_ctlcluster >/dev/null 2>&1; then
    apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >&2
fi

# The newest installed cluster: "version name port status ..." (no header with -h).
read -r version cluster port status _ < <(pg_lsclusters -h | sort -V | tail -n 1) || true
if [ -z "${version:-}" ]; then
    version=$(ls /usr/lib/postgresql | sort -V | tail -n 1)
    cluster=main
    pg_createcluster "$version" "$cluster" >&2
    read -r version cluster port status _ < <(pg_lsclusters -h "$version" "$cluster")
fi
if [ "$status" != "online" ]; then
    pg_ctlcluster "$version" "$cluster" start >&2
fi

# CREATEDB: pytest-django creates (and drops) a test database of its own.
su postgres -c "psql -q -p $port -v ON_ERROR_STOP=1" >&2 <<SQL
DO \$\$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '$ROLE') THEN
        CREATE ROLE $ROLE LOGIN CREATEDB PASSWORD '$PASSWORD';
    END IF;
END
\$\$;
DO \$\$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '$PORTAL_ROLE') THEN
        CREATE ROLE $PORTAL_ROLE LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE;
    END IF;
END
\$\$;
ALTER ROLE $PORTAL_ROLE PASSWORD '$PORTAL_PASSWORD';
SELECT 'CREATE DATABASE $ROLE OWNER $ROLE'
WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = '$ROLE')
\gexec
SQL

# A database the role owns: since PostgreSQL 15 only the owner may create
# tables in a database's public schema, and the demo migrates where it runs.
echo "postgresql://$ROLE:$PASSWORD@127.0.0.1:$port/$ROLE"
