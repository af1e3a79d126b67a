#!/usr/bin/env bash
# The lag to the ticket at a steady rate after a burst, on one database: starts wadesk-server
# (jobs on) on a fresh SQLite file or a fresh PostgreSQL schema, sends 10 s as fast as it answers,
# then 10 s at RATE deliveries/s to the same server, each run verified in the database (every
# acknowledged delivery stored once, every event once, every message on its ticket), and prints
# the table. The generator's seed is fixed, so the second run's customers are the first run's:
# their messages join the tickets the burst opened, the path a busy helpdesk mostly takes.
#
# Usage: crates/wa-loadgen/burst-then-rate.sh sqlite|postgres
# Environment: RATE (default 1000), DURATION (default 10), BURST (0: the steady rate alone, on
# a fresh database), PG_URL (default
# postgres://postgres@127.0.0.1:5432/test), BIN (binaries, default target/release, built if so).
# Not part of `cargo test`. Everything listens on 127.0.0.1 only.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
DB=${1:?usage: burst-then-rate.sh sqlite|postgres}
RATE=${RATE:-1000}
DURATION=${DURATION:-10}
PG_URL=${PG_URL:-postgres://postgres@127.0.0.1:5432/test}
if [ -z "${BIN:-}" ]; then
  (cd "$ROOT" && cargo build --release -q -p wadesk-server -p wa-loadgen)
  BIN=$ROOT/target/release
fi
LG=$BIN/wa-loadgen
WORK=$(mktemp -d "${TMPDIR:-/tmp}/wa-lag.XXXXXX")
OUT=$WORK/results.jsonl
SCHEMA=wa_bench_lag
SP=
cleanup() {
  [ -n "$SP" ] && kill "$SP" 2>/dev/null && wait "$SP" 2>/dev/null || true
  [ "$DB" = postgres ] && "$LG" pg-schema --url "$PG_URL" --schema "$SCHEMA" --drop >/dev/null 2>&1 || true
  rm -rf "$WORK/data" "$WORK"/wadesk.db*
}
trap cleanup EXIT

case "$DB" in
  sqlite) URL="sqlite://$WORK/wadesk.db" ;;
  postgres)
    "$LG" pg-schema --url "$PG_URL" --schema "$SCHEMA" --drop >/dev/null 2>&1 || true
    "$LG" pg-schema --url "$PG_URL" --schema "$SCHEMA"
    case "$PG_URL" in *\?*) SEP='&' ;; *) SEP='?' ;; esac
    URL="${PG_URL}${SEP}options=-c%20search_path%3D$SCHEMA"
    ;;
  *) echo "usage: burst-then-rate.sh sqlite|postgres" >&2; exit 2 ;;
esac

env RUST_LOG=warn WADESK_DATABASE_URL="$URL" WADESK_LISTEN=127.0.0.1:18080 \
  WADESK_APP_SECRET=loadgen-app-secret WADESK_VERIFY_TOKEN=loadgen-verify \
  WADESK_GRAPH_BASE_URL=http://127.0.0.1:9 WADESK_BOOTSTRAP_API_KEY=loadgen-admin-key \
  WADESK_DATA_DIR="$WORK/data" "$BIN/wadesk-server" 2>"$WORK/server.log" &
SP=$!
sleep 1.5
run() { # extra arguments of `wa-loadgen run`
  "$LG" run --target http://127.0.0.1:18080/webhooks/whatsapp --api-key loadgen-admin-key \
    --secret loadgen-app-secret -c 64 -d "$DURATION" --server-pid "$SP" --verify-db "$URL" \
    --json-out "$OUT" "$@"
}
touch "$WORK/burst.txt"
if [ "${BURST:-1}" != 0 ]; then
  echo "== $DB: burst, as fast as answered" >&2
  run --name "$DB-burst" | tee "$WORK/burst.txt" | grep -E "acked of|verify|tickets:" >&2
fi
echo "== $DB: $RATE/s on the same server" >&2
run --name "$DB-after-burst" --rate "$RATE" | tee "$WORK/rate.txt" | grep -E "acked of|verify|tickets:" >&2
"$LG" table "$OUT"
grep -h "lag to the ticket" "$WORK/burst.txt" "$WORK/rate.txt"
