#!/bin/bash
# Runs once, when the primary's data directory is initialised: a replication role and a
# pg_hba rule so the replica (on the backend network only) can stream WAL.
set -euo pipefail
password="$(cat "${REPLICATION_PASSWORD_FILE:?}")"
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
  -v password="$password" <<'SQL'
CREATE ROLE replicator WITH REPLICATION LOGIN PASSWORD :'password';
SQL
echo "host replication replicator all scram-sha-256" >> "$PGDATA/pg_hba.conf"
