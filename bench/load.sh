#!/bin/bash
# Load run on loopback: 2 gunicorn workers (gunicorn.conf.py) on a seeded bench database, wrk against
# the problem list API (bearer token) and the bare JSON endpoint; then worker memory (RSS) before and
# after CHART_REQUESTS chart requests. Bounded: fixed durations and a fixed request count.
#   bench/load.sh [DATABASE_URL]   (default: PostgreSQL bench_1e5)
set -euo pipefail
cd "$(dirname "$0")/.."
URL=${1:-postgresql+psycopg://postgres@127.0.0.1/bench_1e5}
PORT=${PORT:-18765}
DURATION=${DURATION:-10s}
CHART_REQUESTS=${CHART_REQUESTS:-10000}
RENDERS=${RENDERS:-1000}
PARTS=${PARTS:-wrk charts}
CHART=${CHART:-/dashboard/charts/visits-per-supervisor.png}
OUT=bench/results/load-${PARTS// /-}.txt
export DATABASE_URL=$URL SECRET_KEY=bench-load TRACKER_ENV=development RATELIMIT_ENABLED=0
GUNICORN_BIND=127.0.0.1:$PORT GUNICORN_WORKERS=2 GUNICORN_MAX_REQUESTS=0 .venv/bin/gunicorn -c gunicorn.conf.py \
    --pid /tmp/bench-gunicorn.pid bench.wsgi:app &
trap 'kill "$(cat /tmp/bench-gunicorn.pid)" 2>/dev/null || true' EXIT
for _ in $(seq 50); do curl -sf "http://127.0.0.1:$PORT/bench/bare" >/dev/null && break; sleep 0.5; done
TOKEN=$(curl -sf -H 'Content-Type: application/json' -d '{"username":"admin","password":"bench2026"}' \
        "http://127.0.0.1:$PORT/api/v1/tokens" | .venv/bin/python -c 'import json,sys; print(json.load(sys.stdin)["token"])')
COOKIE=$(.venv/bin/python - "$PORT" <<'PY'
import re, sys, urllib.parse, urllib.request, http.cookiejar
base = f"http://127.0.0.1:{sys.argv[1]}"
jar = http.cookiejar.CookieJar()
web = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
page = web.open(base + "/login").read().decode()
token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
web.open(base + "/login", urllib.parse.urlencode(
    {"csrf_token": token, "username": "admin", "password": "bench2026"}).encode())
print("; ".join(f"{c.name}={c.value}" for c in jar))
PY
)
workers() { pgrep -P "$(cat /tmp/bench-gunicorn.pid)" | xargs -r ps -o pid=,rss= -p; }
{
  echo "# load run $(date -u '+%Y-%m-%d %H:%M UTC') on $URL, 2 workers, wrk -t2 -c8 -d$DURATION"
  if [[ " $PARTS " == *" wrk "* ]]; then
  echo "## bare JSON endpoint"
  wrk -t2 -c8 -d"$DURATION" --latency "http://127.0.0.1:$PORT/bench/bare" | grep -E "Requests/sec|99%|Latency "
  echo "## GET /api/v1/problems (bearer token)"
  wrk -t2 -c8 -d"$DURATION" --latency -s bench/bearer.lua "http://127.0.0.1:$PORT/api/v1/problems" -- "$TOKEN" \
      | grep -E "Requests/sec|99%|Latency |Non-2xx"
  echo "## GET /api/v1/problems?status=closed&page=100 (bearer token)"
  wrk -t2 -c8 -d"$DURATION" --latency -s bench/bearer.lua \
      "http://127.0.0.1:$PORT/api/v1/problems?status=closed&page=100" -- "$TOKEN" | grep -E "Requests/sec|99%|Latency |Non-2xx"
  fi
  if [[ " $PARTS " == *" charts "* ]]; then
  chart_run() {  # $1 requests, as_of cycling over the $2 days before today (distinct images)
    .venv/bin/python -c "import datetime,sys; t=datetime.date.today(); n,k=map(int,sys.argv[1:]); print('\n'.join(str(t-datetime.timedelta(days=i % k)) for i in range(n)))" "$1" "$2" \
      | xargs -P 4 -I{} curl -s -o /dev/null -w '%{http_code}\n' -b "$COOKIE" "http://127.0.0.1:$PORT$CHART?as_of={}" \
      | sort | uniq -c
  }
  curl -sf -b "$COOKIE" -o /dev/null "http://127.0.0.1:$PORT$CHART"
  echo "## worker RSS (KiB) before"; workers
  echo "## $RENDERS chart requests, each a different day (each drawn: more days than the cache holds)"
  started=$(date +%s); chart_run "$RENDERS" 730; echo "  in $(( $(date +%s) - started )) s"
  echo "## worker RSS (KiB) after those"; workers
  echo "## $CHART_REQUESTS chart requests over 100 days (drawn once each, then from the cache)"
  started=$(date +%s); chart_run "$CHART_REQUESTS" 100; echo "  in $(( $(date +%s) - started )) s"
  echo "## worker RSS (KiB) after"; workers
  fi
} | tee "$OUT"
