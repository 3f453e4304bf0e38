#!/bin/sh
# Runs once, when the primary's data folder is created (docker-entrypoint-initdb.d): lets
# the platform's role stream the WAL to replicas over the compose network, with its password.
set -eu
echo "host replication ${POSTGRES_USER} all scram-sha-256" >> "${PGDATA}/pg_hba.conf"
