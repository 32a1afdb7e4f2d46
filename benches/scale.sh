#!/usr/bin/env bash
# The archive at scale, each step measured on its own:
#
#     cargo build --release
#     benches/scale.sh [ADS] [WORK]      # 10,000,000 ads in /tmp/adarchive-scale
#
# Run by hand, not in CI, on an otherwise idle machine: it generates ADS
# ads as the platforms' files (Google's bundle, Meta's API pages, Snap's
# CSV and the others; kept in WORK for the next run), imports them with
# their search index into an empty archive (time, CPU, peak memory), says
# where the bytes went (`adarchive stats`), times the first requests of a
# server started with the system's page cache dropped (as after a reboot;
# needs root, skipped otherwise), runs the API benchmark against the
# archive (`cargo bench --bench api -- --data`: p50/p99 of each request
# kind under 32 connections with the result cache, then the server's
# memory while it streams the whole NDJSON export; then the same requests
# without the cache), and times `adarchive verify`.
set -euo pipefail

ads=${1:-10000000}
work=${2:-/tmp/adarchive-scale}
root=$(cd "$(dirname "$0")/.." && pwd)
bin=$root/target/release/adarchive
corpus=$work/exports-$ads
data=$work/data-$ads
port=18931
measure=(/usr/bin/time -f "%e s wall, %U s user + %S s system, peak %M KiB resident")

[ -x "$bin" ] || { echo "build first: cargo build --release" >&2; exit 1; }
mkdir -p "$work"
if [ ! -d "$corpus" ]; then
    echo "## generating $ads ads"
    "${measure[@]}" "$bin" generate-samples --ads "$ads" --seed 2 "$corpus" > /dev/null
fi
echo "exports: $(du -sb "$corpus" | cut -f1) bytes in $(find "$corpus" -type f | wc -l) files"

echo "## import"
rm -rf "$data"
sync
"${measure[@]}" "$bin" import --data "$data" --json "$corpus" > "$work/import-$ads.json"
python3 -c 'import json,sys; t=json.load(open(sys.argv[1]))["totals"]; print("records", t["records"], "new", t["new"], "quarantined", t["quarantined"])' "$work/import-$ads.json"

echo "## where the bytes went"
"$bin" stats --data "$data"
echo "index: $(du -sb "$data/index" | cut -f1) bytes"

echo "## the first requests after a restart"
sync
if echo 3 > /proc/sys/vm/drop_caches 2> /dev/null; then
    echo "page cache dropped"
else
    echo "page cache NOT dropped (not root): the first requests are warm"
fi
started=$(date +%s.%N)
"$bin" serve --data "$data" --bind "127.0.0.1:$port" --rate-limit 0 > "$work/serve-$ads.log" 2>&1 &
server=$!
trap 'kill $server 2> /dev/null || true' EXIT
until curl -sf "http://127.0.0.1:$port/healthz" > /dev/null; do sleep 0.05; done
echo "serving after $(echo "$(date +%s.%N) - $started" | bc) s"
for path in "/v1/ads?q=vote" "/v1/ads?q=vote" "/v1/ads?q=water&facets=platform,country" \
    "/v1/spend?group_by=advertiser" "/v1/spend?group_by=advertiser" "/"; do
    curl -s -o /dev/null -w "%{time_total} s  $path\n" "http://127.0.0.1:$port$path"
done
echo "server resident: $(grep VmRSS /proc/$server/status | awk '{print $2}') KiB, heap $(grep RssAnon /proc/$server/status | awk '{print $2}') KiB"
kill $server
wait $server 2> /dev/null || true
trap - EXIT

echo "## the API under load"
(cd "$root" && cargo bench --bench api -- --data "$data")
(cd "$root" && cargo bench --bench api -- --data "$data" --uncached --no-export)

echo "## verify"
"${measure[@]}" "$bin" verify --data "$data" | tail -1
