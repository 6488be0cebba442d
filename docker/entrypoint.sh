#!/bin/sh
# Container entry point: listen on all interfaces only when requests are authenticated
# (OMNIGENT_AUTH=jwt) or the operator said so explicitly; apply migrations; run the server.
set -e

if [ -z "${OMNIGENT_HOST:-}" ]; then
  if [ "${OMNIGENT_AUTH:-none}" = "jwt" ] || [ "${OMNIGENT_ALLOW_REMOTE_NOAUTH:-0}" = "1" ]; then
    export OMNIGENT_HOST=0.0.0.0
  else
    echo "OMNIGENT_AUTH is not jwt: listening on 127.0.0.1 inside the container only." >&2
    export OMNIGENT_HOST=127.0.0.1
  fi
fi

if [ "${OMNIGENT_DB_MIGRATE:-true}" != "false" ] && [ "${OMNIGENT_DB_MIGRATE:-1}" != "0" ]; then
  node bin/omnigent.js migrate
fi
OMNIGENT_DB_MIGRATE=false exec node bin/omnigent.js serve
