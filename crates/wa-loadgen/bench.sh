#!/usr/bin/env bash
# Ingest benchmarks of wadesk, with their references measured in the same run:
#   1. the HTTP ceiling (same axum stack, signature verified, nothing stored),
#   2. the raw durable-insert rate of the same bodies through wadesk's group-commit writer
#      (SQLite synchronous=FULL, PostgreSQL), no HTTP,
#   3. wadesk-server (jobs on) on SQLite (temporary file) and on PostgreSQL (a fresh schema),
#      as fast as it answers, then at a fixed 1,000 deliveries/s, each verified in the database;
#      then with jobs off (ingest alone), to show what processing costs ingest.
# Prints the machine and a Markdown table with ratios against the ceiling.
#
# Environment: DURATION (s, default 10), CONNS (default 64), PG_URL (default
# postgres://postgres@127.0.0.1:5432/test; set PG_URL= to skip PostgreSQL), OUT (results file),
# RATE (the fixed-rate runs, default 1000; RATE=0 skips them).
# Not part of `cargo test`. Everything listens on 127.0.0.1 only.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
DURATION=${DURATION:-10}
CONNS=${CONNS:-64}
PG_URL=${PG_URL-postgres://postgres@127.0.0.1:5432/test}
RATE=${RATE:-1000}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/wa-bench.XXXXXX")
OUT=${OUT:-$WORK/results.jsonl}
SECRET=loadgen-app-secret
KEY=loadgen-admin-key
SERVER_ADDR=127.0.0.1:18080
CEILING_ADDR=127.0.0.1:18081
PIDS=()

cleanup() {
  for p in "${PIDS[@]:-}"; do [ -n "$p" ] && kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$WORK/db" "$WORK/data"
}
trap cleanup EXIT

echo "== building (release)" >&2
(cd "$ROOT" && cargo build --release -q -p wadesk-server -p wa-loadgen)
BIN=$ROOT/target/release
LG=$BIN/wa-loadgen
mkdir -p "$WORK/db" "$WORK/data"

echo "== machine"
echo "nproc: $(nproc); cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | xargs); $(grep -m1 MemTotal /proc/meminfo | xargs)"
echo "kernel: $(uname -r); disk of $WORK: $(df --output=source,fstype "$WORK" | tail -1 | xargs)"
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "results: $OUT"

stop() { kill "$1" 2>/dev/null || true; wait "$1" 2>/dev/null || true; }

# 1. Ceiling.
echo "== ceiling" >&2
RUST_LOG=info "$LG" ceiling --listen "$CEILING_ADDR" --secret "$SECRET" &
CP=$!; PIDS+=("$CP")
"$LG" run --target "http://$CEILING_ADDR/webhooks/whatsapp" --no-setup --secret "$SECRET" \
  -c "$CONNS" -d "$DURATION" --name ceiling --server-pid "$CP" --json-out "$OUT"
stop "$CP"

# 2. Raw durable inserts.
echo "== raw insert, SQLite" >&2
"$LG" raw-insert --db "sqlite://$WORK/db/raw.db" -c "$CONNS" -d "$DURATION" --json-out "$OUT"
rm -f "$WORK"/db/raw.db*
if [ -n "$PG_URL" ]; then
  echo "== raw insert, PostgreSQL" >&2
  "$LG" raw-insert --db "$PG_URL" -c "$CONNS" -d "$DURATION" --json-out "$OUT"
fi

# 3. wadesk-server.
start_server() { # $1 = database URL, $2 = WADESK_RUN_JOBS
  env RUST_LOG=info WADESK_RUN_JOBS="$2" WADESK_DATABASE_URL="$1" WADESK_LISTEN="$SERVER_ADDR" \
    WADESK_APP_SECRET="$SECRET" WADESK_VERIFY_TOKEN=loadgen-verify \
    WADESK_GRAPH_BASE_URL=http://127.0.0.1:9 \
    WADESK_BOOTSTRAP_API_KEY="$KEY" WADESK_DATA_DIR="$WORK/data" \
    "$BIN/wadesk-server" 2>>"$WORK/server.log" &
  SP=$!; PIDS+=("$SP")
  sleep 1 # let it settle before measuring idle memory
}

wadesk_runs() { # $1 = label, $2 = database URL (server and verification)
  start_server "$2" true
  echo "== wadesk-server on $1, as fast as answered" >&2
  "$LG" run --target "http://$SERVER_ADDR/webhooks/whatsapp" --api-key "$KEY" --secret "$SECRET" \
    -c "$CONNS" -d "$DURATION" --name "wadesk-$1" --server-pid "$SP" \
    --verify-db "$2" --json-out "$OUT" || echo "VERIFICATION FAILED for wadesk-$1" >&2
  if [ "$RATE" != 0 ]; then
    echo "== wadesk-server on $1, $RATE/s" >&2
    "$LG" run --target "http://$SERVER_ADDR/webhooks/whatsapp" --api-key "$KEY" --secret "$SECRET" \
      -c "$CONNS" -d "$DURATION" --rate "$RATE" --name "wadesk-$1" --server-pid "$SP" \
      --verify-db "$2" --json-out "$OUT" || echo "VERIFICATION FAILED for wadesk-$1 @$RATE" >&2
  fi
  stop "$SP"
}

ingest_only() { # $1 = label, $2 = database URL: jobs off, so only ingest competes for the database
  start_server "$2" false
  echo "== wadesk-server on $1, jobs off (ingest only)" >&2
  "$LG" run --target "http://$SERVER_ADDR/webhooks/whatsapp" --api-key "$KEY" --secret "$SECRET" \
    -c "$CONNS" -d "$DURATION" --name "wadesk-$1-jobs-off" --server-pid "$SP" --json-out "$OUT"
  stop "$SP"
}

wadesk_runs sqlite "sqlite://$WORK/db/wadesk.db"
ingest_only sqlite "sqlite://$WORK/db/ingest-only.db"
if [ -n "$PG_URL" ]; then
  case "$PG_URL" in *\?*) SEP='&' ;; *) SEP='?' ;; esac
  for SCHEMA in wa_bench_server wa_bench_ingest; do
    "$LG" pg-schema --url "$PG_URL" --schema "$SCHEMA"
  done
  wadesk_runs postgres "${PG_URL}${SEP}options=-c%20search_path%3Dwa_bench_server"
  ingest_only postgres "${PG_URL}${SEP}options=-c%20search_path%3Dwa_bench_ingest"
  for SCHEMA in wa_bench_server wa_bench_ingest; do
    "$LG" pg-schema --url "$PG_URL" --schema "$SCHEMA" --drop
  done
fi

echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
echo
"$LG" table "$OUT"
