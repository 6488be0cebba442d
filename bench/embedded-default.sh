#!/usr/bin/env bash
# The embedded default's footprint and speed (docs/PERFORMANCE.md): first and warm start of
# `omnigent serve` on a fresh data directory, idle PSS of the server plus its PostgreSQL
# processes, and GET /v1/sessions/{id} (a 100-item snapshot) req/s with wrk, then the same
# snapshot against the machine's PostgreSQL as the baseline. Needs `npm run build` and `wrk`
# (apt-get install wrk). Usage: bash bench/embedded-default.sh
set -euo pipefail
cd "$(dirname "$0")/.."

BASELINE_URL="${BENCH_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
DATA="$(mktemp -d)"
chmod 755 "$DATA"
LOG="$DATA/serve.log"
SERVER=""
cleanup() {
  [ -n "$SERVER" ] && kill "$SERVER" 2>/dev/null && wait "$SERVER" 2>/dev/null || true
  rm -rf "$DATA"
}
trap cleanup EXIT

now_ms() { date +%s%3N; }

# Starts `omnigent serve` (extra env as arguments); sets MS (to "Listening") and URL.
serve() {
  : >"$LOG"
  local started
  started=$(now_ms)
  env OMNIGENT_DATA_DIR="$DATA" OMNIGENT_PORT=0 OMNIGENT_LOCAL_RUNNER=0 OMNIGENT_LOG_LEVEL=log \
    "$@" node bin/omnigent.js serve >"$LOG" 2>&1 &
  SERVER=$!
  until grep -q 'Listening on' "$LOG"; do
    kill -0 "$SERVER" 2>/dev/null || { cat "$LOG"; exit 1; }
    sleep 0.02
  done
  MS=$(($(now_ms) - started))
  URL=$(grep -o 'Listening on http://[0-9.:]*' "$LOG" | cut -d' ' -f3)
}

stop() {
  kill -TERM "$SERVER"
  wait "$SERVER" || true
  SERVER=""
}

# A session with 100 message items, written straight into the database at $1.
seed() {
  node -e '
    const { Client } = require("pg");
    (async () => {
      const [url, api] = process.argv.slice(1);
      const agents = await (await fetch(`${api}/v1/agents`)).json();
      const echo = agents.data.find((a) => a.name === "echo").id;
      const session = await (await fetch(`${api}/v1/sessions`, {
        method: "POST", headers: { "content-type": "application/json" },
        body: JSON.stringify({ agent_id: echo }) })).json();
      const db = new Client({ connectionString: url });
      await db.connect();
      await db.query(`INSERT INTO items (session_id, id, response_id, type, status, data, text_content)
        SELECT $1, $2 || lpad(g::text, 28, $$0$$), $$resp_bench$$, $$message$$, $$completed$$,
               jsonb_build_object($$role$$, $$user$$, $$content$$, jsonb_build_array(
                 jsonb_build_object($$type$$, $$input_text$$, $$text$$, $$hello $$ || g))),
               $$hello $$ || g
          FROM generate_series(1, 100) g`, [session.id, "msg_0000"]);
      await db.end();
      console.log(session.id);
    })().catch((e) => { console.error(e); process.exit(1); });
  ' "$1" "$2"
}

embedded_url() {
  local port
  port=$(sed -n 4p "$DATA/postgres/postmaster.pid")
  echo "postgres://omnigent:$(cat "$DATA/postgres.password")@127.0.0.1:$port/omnigent"
}

# PSS in kB of the given processes, summed.
pss_kb() {
  local total=0 kb
  for pid in "$@"; do
    kb=$(awk '/^Pss:/ {print $2}' "/proc/$pid/smaps_rollup" 2>/dev/null || echo 0)
    total=$((total + kb))
  done
  echo "$total"
}

# PSS of the server and every process of its PostgreSQL, in MB.
pss_mb() {
  local pm db server
  pm=$(head -1 "$DATA/postgres/postmaster.pid")
  # shellcheck disable=SC2046
  set -- "$pm" $(pgrep -P "$pm")
  db=$(pss_kb "$@")
  server=$(pss_kb "$SERVER")
  echo "$(((db + server) / 1024)) MB (server $((server / 1024)) MB + PostgreSQL $((db / 1024)) MB in $# processes)"
}

snapshot_rps() {
  wrk -t2 -c10 -d10s "$1" | awk '/Requests\/sec/ {print $2}'
}

echo "machine: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg), $(node --version)"
serve
echo "first start (initdb + migrations) to Listening: ${MS} ms; $(grep -o 'ready on .* in [0-9]* ms' "$LOG")"
stop
serve
echo "warm start to Listening: ${MS} ms; $(grep -o 'ready on .* in [0-9]* ms' "$LOG")"
id=$(seed "$(embedded_url)" "$URL")
sleep 10
echo "idle PSS, server + embedded PostgreSQL: $(pss_mb)"
echo "GET /v1/sessions/{id} (100 items), embedded: $(snapshot_rps "$URL/v1/sessions/$id") req/s"
echo "PSS right after the load (pool of 10 open): $(pss_mb)"
sleep 15
echo "PSS idle again (the pool closes idle connections after 10 s): $(pss_mb)"
stop

name="omnigent_bench_$$"
psql "$BASELINE_URL" -qc "CREATE DATABASE $name"
base="${BASELINE_URL%/*}/$name"
serve DATABASE_URL="$base"
id=$(seed "$base" "$URL")
echo "GET /v1/sessions/{id} (100 items), system PostgreSQL: $(snapshot_rps "$URL/v1/sessions/$id") req/s"
stop
psql "$BASELINE_URL" -qc "DROP DATABASE $name WITH (FORCE)"
