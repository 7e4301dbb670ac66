#!/bin/bash
# A streaming replica: cloned from the primary with pg_basebackup on first start, then a hot
# standby (read-only) that the API's DATABASE_REPLICA_URL points at.
set -euo pipefail
export PGPASSWORD
PGPASSWORD="$(cat "${REPLICATION_PASSWORD_FILE:?}")"
if [ ! -s "$PGDATA/PG_VERSION" ]; then
  until pg_isready -h "${PRIMARY_HOST:?}" -U replicator; do sleep 1; done
  pg_basebackup -h "$PRIMARY_HOST" -U replicator -D "$PGDATA" -X stream -R --checkpoint=fast
  chmod 700 "$PGDATA"
fi
exec postgres -c hot_standby=on
