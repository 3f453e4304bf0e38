#!/bin/sh
# A hot standby of the `db` service: on first start (an empty data folder) it copies the
# primary with pg_basebackup and a replication slot of its own, then it runs as a standby
# that streams the primary's WAL. Later starts only run the standby.
set -eu
SLOT="${REPLICA_SLOT:-replica_1}"
if [ ! -s "${PGDATA}/PG_VERSION" ]; then
  mkdir -p "${PGDATA}"
  chown postgres:postgres "${PGDATA}"
  chmod 700 "${PGDATA}"
  until gosu postgres pg_basebackup -h "${PRIMARY_HOST}" -U "${POSTGRES_USER}" -D "${PGDATA}" \
        -R -X stream -C -S "${SLOT}" -c fast --no-password; do
    echo "waiting for the primary ${PRIMARY_HOST} ..."
    sleep 3
  done
fi
exec gosu postgres postgres -c hot_standby=on -c hot_standby_feedback=on
