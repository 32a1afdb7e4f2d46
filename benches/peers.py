#!/usr/bin/env python3
"""adarchive beside the tools people would use instead, on one corpus.

    cargo build --release
    python3 benches/peers.py [--ads 100000] [--files many,one-per-platform]
        [--advertisers realistic,one-per-ad] [--seconds 10] [--work DIR]

Run by hand, not in CI. For each corpus shape (how the files are split
times how many advertisers there are), `adarchive generate-samples` writes
one corpus of Google, Meta and Snap exports, and in one run:

- adarchive imports the files (`adarchive import`, indexing included) and
  serves them (`adarchive serve`, no result cache, no rate limit);
- PostgreSQL loads the same files as they are: each CSV with COPY into a
  table of its columns, Meta's ads one JSON document per row (jsonb), each
  table with a generated `tsvector` over its text columns and a GIN index;
- sqlite-utils inserts the same files (`insert --csv`, `insert --nl`),
  `enable-fts` makes FTS5 tables over the same text, and Datasette serves
  the database;
- DuckDB loads adarchive's NDJSON export (`/v1/export`) into a table, with
  one lower-cased text column to match words in (DuckDB has no text index
  without downloading an extension).

Then, for each: the load time; a word search with the count of matches
per platform and the 20 newest matches, as requests per second with 8 and
32 connections (wrk for the HTTP servers, pgbench for PostgreSQL, threads
for DuckDB); a phrase search and spend by advertiser (advertiser x
currency: ads and the sum of lower bounds, the top 100 by ads), as the
mean of 20 requests from one client. Every peer answers the same question
in the SQL a user would write over what it loaded.

Needs: PostgreSQL's server programs (initdb, pg_ctl, psql, pgbench; found
on PATH or under /usr/lib/postgresql/*/bin), `pip install sqlite-utils
datasette duckdb`, and wrk. Prints Markdown tables for docs/benchmarks.md.
"""

import argparse
import csv
import glob
import http.client
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import zipfile

WORDS = ["water", "schools", "voting", "health", "election"]
PHRASE = "clean water"
ROUNDS = 20
HERE = os.path.dirname(os.path.abspath(__file__))
BINARY = os.path.join(HERE, "..", "target", "release", "adarchive")

GOOGLE_TEXT = ["Advertiser_Name", "Regions", "Geo_Targeting_Included", "Ad_Type"]
SNAP_TEXT = [
    "OrganizationName",
    "PayingAdvertiserName",
    "CandidateBallotInformation",
    "Interests",
    "CreativeProperties",
]
META_TEXT = [
    "page_name",
    "bylines",
    "ad_creative_bodies",
    "ad_creative_link_titles",
    "ad_creative_link_descriptions",
]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def timed(command, **kwargs):
    """Runs a command; returns (seconds, peak resident MiB of that process)."""
    started = time.perf_counter()
    process = subprocess.Popen(command, **kwargs)
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    elapsed = time.perf_counter() - started
    if process.returncode != 0:
        sys.exit(f"{command[0]} failed: {' '.join(command)}")
    return elapsed, usage.ru_maxrss / 1024


def pg_bin(name):
    found = shutil.which(name)
    if found:
        return found
    for candidate in sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), reverse=True):
        return candidate
    sys.exit(f"{name} not found: install PostgreSQL's server programs")


def wait_http(port, path="/", seconds=60):
    deadline = time.time() + seconds
    while time.time() < deadline:
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            connection.request("GET", path)
            if connection.getresponse().status < 500:
                return
        except OSError:
            pass
        time.sleep(0.2)
    sys.exit(f"nothing answers on port {port}")


def http_mean(port, paths):
    """Mean milliseconds of ROUNDS sequential GETs over one connection."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    times = []
    for i in range(ROUNDS + 2):
        path = paths[i % len(paths)]
        started = time.perf_counter()
        connection.request("GET", path)
        response = connection.getresponse()
        body = response.read()
        if response.status != 200:
            sys.exit(f"{path}: {response.status} {body[:300]!r}")
        if i >= 2:
            times.append(time.perf_counter() - started)
    return 1000 * sum(times) / len(times)


def wrk(port, paths, connections, seconds, work):
    script = os.path.join(work, "paths.lua")
    with open(script, "w") as f:
        listed = ", ".join(json.dumps(p) for p in paths)
        f.write(
            f"local paths = {{ {listed} }}\nlocal i = 0\n"
            "request = function()\n  i = i + 1\n"
            "  return wrk.format('GET', paths[(i % #paths) + 1])\nend\n"
        )
    out = subprocess.run(
        ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--timeout", "30s",
         "-s", script, f"http://127.0.0.1:{port}"],
        capture_output=True, text=True, check=True,
    ).stdout
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if bad:
        sys.exit(f"wrk saw {bad.group(1)} failed answers:\n{out}")
    return rate


class Corpus:
    """The generated files of one shape."""

    def __init__(self, folder):
        self.folder = folder
        self.google_zip = os.path.join(folder, "google-political-ads-transparency-bundle.zip")
        self.google_csv = os.path.join(folder, "google-political-ads-creative-stats.csv")
        self.meta = sorted(glob.glob(os.path.join(folder, "meta", "*")))
        self.snap = os.path.join(folder, "snap", "PoliticalAds.csv")

    def paths(self):
        google = self.google_zip if os.path.exists(self.google_zip) else self.google_csv
        return [google, os.path.join(self.folder, "meta"), os.path.dirname(self.snap)]

    def size(self):
        return sum(
            os.path.getsize(os.path.join(d, f))
            for p in self.paths()
            for d, _, files in (os.walk(p) if os.path.isdir(p) else [(os.path.dirname(p), None, [os.path.basename(p)])])
            for f in files
        )

    def google_bytes(self):
        """The creative stats CSV, as a binary stream."""
        if os.path.exists(self.google_zip):
            bundle = zipfile.ZipFile(self.google_zip)
            return bundle.open("google-political-ads-creative-stats.csv")
        return open(self.google_csv, "rb")

    def meta_lines(self):
        """Every Meta ad as one line of JSON (pages are split into ads)."""
        for path in self.meta:
            if path.endswith(".jsonl"):
                with open(path, "rb") as f:
                    for line in f:
                        if line.strip():
                            yield line.rstrip(b"\n")
            else:
                with open(path, "rb") as f:
                    for ad in json.load(f)["data"]:
                        yield json.dumps(ad, ensure_ascii=False).encode()


def header(stream):
    line = stream.readline().decode("utf-8-sig").strip()
    return next(csv.reader([line]))


# ---------------------------------------------------------------- adarchive

def adarchive(corpus, work, seconds):
    data = os.path.join(work, "adarchive-data")
    load, peak = timed([BINARY, "import", "--data", data, *corpus.paths()],
                       stdout=subprocess.DEVNULL)
    port = free_port()
    server = subprocess.Popen(
        [BINARY, "serve", "--data", data, "--bind", f"127.0.0.1:{port}",
         "--rate-limit", "0", "--cache-bytes", "0"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        env={**os.environ, "RUST_LOG": "warn"},
    )
    try:
        wait_http(port, "/healthz")
        word = [f"/v1/ads?q={w}&facets=platform&limit=20" for w in WORDS]
        phrase = ["/v1/ads?q=" + urllib.parse.quote(f'"{PHRASE}"') + "&facets=platform&limit=20"]
        spend = ["/v1/spend?group_by=advertiser&limit=100"]
        http_mean(port, word)  # warm
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        connection.request("GET", f"/v1/ads?q={WORDS[0]}&limit=1")
        matches = json.loads(connection.getresponse().read())["total"]
        result = {
            "matches": matches,
            "load": load,
            "load_peak": peak,
            "word8": wrk(port, word, 8, seconds, work),
            "word32": wrk(port, word, 32, seconds, work),
            "phrase": http_mean(port, phrase),
            "spend": http_mean(port, spend),
        }
        export = os.path.join(work, "export.ndjson")
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=3600)
        connection.request("GET", "/v1/export")
        response = connection.getresponse()
        with open(export, "wb") as out:
            for line in response:
                if not line.startswith(b'{"next_cursor"'):
                    out.write(line)
        return result, export
    finally:
        server.kill()
        server.wait()


# --------------------------------------------------------------- PostgreSQL

def tsv(columns, expression):
    parts = " || ' ' || ".join(f"coalesce({expression(c)}, '')" for c in columns)
    return f"tsvector GENERATED ALWAYS AS (to_tsvector('simple'::regconfig, {parts})) STORED"


PG_MATCHES = """
  SELECT 'google' AS platform, "Ad_ID" AS id, "First_Served_Timestamp" AS shown FROM google WHERE tsv @@ {q}
  UNION ALL SELECT 'meta', doc->>'id', doc->>'ad_delivery_start_time' FROM meta WHERE tsv @@ {q}
  UNION ALL SELECT 'snap', "ADID", "StartDate" FROM snap WHERE tsv @@ {q}
"""

SEARCH_SQL = """
WITH m AS ({matches})
SELECT * FROM (SELECT 'count' AS kind, platform, CAST(NULL AS TEXT) AS id, count(*) AS n FROM m GROUP BY platform) c
UNION ALL
SELECT * FROM (SELECT 'newest', platform, id, CAST(NULL AS BIGINT) FROM m ORDER BY shown DESC LIMIT 20) t
"""

PG_SPEND = """
SELECT advertiser, currency, count(*) AS ads, sum(lower) AS lower FROM (
  SELECT "Advertiser_Name" AS advertiser, 'USD' AS currency, nullif("Spend_Range_Min_USD", '')::bigint AS lower FROM google
  UNION ALL SELECT doc->>'page_name', doc->>'currency', (doc->'spend'->>'lower_bound')::bigint FROM meta
  UNION ALL SELECT "OrganizationName", "Currency Code", nullif("Spend", '')::bigint FROM snap
) s GROUP BY 1, 2 ORDER BY 3 DESC, 1 LIMIT 100
"""


class Postgres:
    def __init__(self, work):
        self.dir = os.path.join(work, "pg")
        self.socket = os.path.join(work, "pgsock")
        os.makedirs(self.socket, exist_ok=True)
        self.port = str(free_port())
        self.log = os.path.join(self.socket, "pg.log")
        # PostgreSQL refuses to run as root: then it runs as `postgres`.
        self.as_owner = []
        if os.geteuid() == 0:
            os.chmod(work, 0o755)
            os.makedirs(self.dir, exist_ok=True)
            for path in [self.socket, self.dir]:
                shutil.chown(path, "postgres")
            self.as_owner = ["runuser", "-u", "postgres", "--"]
        subprocess.run([*self.as_owner, pg_bin("initdb"), "-D", self.dir, "-U", "bench",
                        "--auth=trust", "-E", "UTF8", "--locale=C"], check=True, capture_output=True)
        subprocess.run([*self.as_owner, pg_bin("pg_ctl"), "-D", self.dir, "-l", self.log, "-w",
                        "-o", f"-p {self.port} -k {self.socket} -c listen_addresses=''", "start"],
                       check=True, capture_output=True)

    def connect_args(self):
        return ["-h", self.socket, "-p", self.port, "-U", "bench", "-d", "postgres"]

    def psql(self, sql, tuples=False):
        return subprocess.run([pg_bin("psql"), *self.connect_args(), "-v", "ON_ERROR_STOP=1",
                               "-q", "-X", *(["-At"] if tuples else []), "-c", sql], check=True,
                              capture_output=True).stdout

    def copy(self, sql, chunks):
        process = subprocess.Popen([pg_bin("psql"), *self.connect_args(), "-v", "ON_ERROR_STOP=1",
                                    "-q", "-X", "-c", sql], stdin=subprocess.PIPE)
        for chunk in chunks:
            process.stdin.write(chunk)
        process.stdin.close()
        if process.wait() != 0:
            sys.exit(f"psql failed: {sql}")

    def load(self, corpus):
        started = time.perf_counter()
        with corpus.google_bytes() as f:
            columns = header(f)
            defs = ", ".join(f'"{c}" text' for c in columns)
            self.psql(f"CREATE TABLE google ({defs}, tsv {tsv(GOOGLE_TEXT, lambda c: chr(34) + c + chr(34))})")
            names = ", ".join(f'"{c}"' for c in columns)
            self.copy(f"\\copy google ({names}) FROM pstdin WITH (FORMAT csv)", iter(lambda: f.read(1 << 20), b""))
        with open(corpus.snap, "rb") as f:
            columns = header(f)
            defs = ", ".join(f'"{c}" text' for c in columns)
            self.psql(f"CREATE TABLE snap ({defs}, tsv {tsv(SNAP_TEXT, lambda c: chr(34) + c + chr(34))})")
            names = ", ".join(f'"{c}"' for c in columns)
            self.copy(f"\\copy snap ({names}) FROM pstdin WITH (FORMAT csv)", iter(lambda: f.read(1 << 20), b""))
        self.psql(f"CREATE TABLE meta (doc jsonb, tsv {tsv(META_TEXT, lambda c: f'doc->>{chr(39)}{c}{chr(39)}')})")
        # JSON text never holds the two control characters chosen as
        # quote and delimiter, so each line is one value, unescaped.
        self.copy("\\copy meta (doc) FROM pstdin WITH (FORMAT csv, QUOTE e'\\x01', DELIMITER e'\\x02')",
                  (line + b"\n" for line in corpus.meta_lines()))
        for table in ["google", "snap", "meta"]:
            self.psql(f"CREATE INDEX {table}_tsv ON {table} USING gin (tsv)")
        self.psql("ANALYZE")
        return time.perf_counter() - started

    def pgbench(self, sql, clients, seconds=None, transactions=None, work="."):
        script = os.path.join(work, "query.sql")
        with open(script, "w") as f:
            f.write(f"\\set i random(1, {len(WORDS)})\n" + " ".join(sql.split()) + ";\n")
        run = ["-T", str(seconds)] if seconds else ["-t", str(transactions)]
        out = subprocess.run([pg_bin("pgbench"), "-n", *self.connect_args()[:-2], "-c", str(clients),
                              "-j", "2", *run, "-f", script, "postgres"],
                             capture_output=True, text=True)
        if out.returncode != 0:
            sys.exit(f"pgbench: {out.stderr}")
        tps = float(re.search(r"tps = ([\d.]+)", out.stdout).group(1))
        latency = float(re.search(r"latency average = ([\d.]+) ms", out.stdout).group(1))
        return tps, latency

    def stop(self):
        subprocess.run([*self.as_owner, pg_bin("pg_ctl"), "-D", self.dir, "-m", "immediate", "stop"],
                       capture_output=True)


def postgres(corpus, work, seconds):
    pg = Postgres(work)
    try:
        load = pg.load(corpus)
        words = ", ".join(f"({i + 1}, '{w}')" for i, w in enumerate(WORDS))
        pg.psql(f"CREATE TABLE words (id int PRIMARY KEY, w text); INSERT INTO words VALUES {words}")
        word = SEARCH_SQL.format(matches=PG_MATCHES.format(
            q="(SELECT plainto_tsquery('simple', w) FROM words WHERE id = :i)"))
        phrase = SEARCH_SQL.format(matches=PG_MATCHES.format(q=f"phraseto_tsquery('simple', '{PHRASE}')"))
        pg.pgbench(word, 1, transactions=5, work=work)  # warm
        count = PG_MATCHES.format(q=f"plainto_tsquery('simple', '{WORDS[0]}')")
        matches = int(pg.psql(f"SELECT count(*) FROM ({count}) m", tuples=True))
        return {
            "matches": matches,
            "load": load,
            "word8": pg.pgbench(word, 8, seconds=seconds, work=work)[0],
            "word32": pg.pgbench(word, 32, seconds=seconds, work=work)[0],
            "phrase": pg.pgbench(phrase, 1, transactions=ROUNDS, work=work)[1],
            "spend": pg.pgbench(PG_SPEND, 1, transactions=ROUNDS, work=work)[1],
        }
    finally:
        pg.stop()


# ------------------------------------------------- sqlite-utils and Datasette

SQLITE_MATCHES = """
  SELECT 'google' AS platform, g."Ad_ID" AS id, g."First_Served_Timestamp" AS shown
    FROM google_fts f JOIN google g ON g.rowid = f.rowid WHERE google_fts MATCH :q
  UNION ALL SELECT 'meta', m.id, m.ad_delivery_start_time
    FROM meta_fts f JOIN meta m ON m.rowid = f.rowid WHERE meta_fts MATCH :q
  UNION ALL SELECT 'snap', s."ADID", s."StartDate"
    FROM snap_fts f JOIN snap s ON s.rowid = f.rowid WHERE snap_fts MATCH :q
"""

SQLITE_SPEND = """
SELECT advertiser, currency, count(*) AS ads, sum(lower) AS lower FROM (
  SELECT "Advertiser_Name" AS advertiser, 'USD' AS currency, CAST(nullif("Spend_Range_Min_USD", '') AS INTEGER) AS lower FROM google
  UNION ALL SELECT page_name, currency, CAST(json_extract(spend, '$.lower_bound') AS INTEGER) FROM meta
  UNION ALL SELECT "OrganizationName", "Currency Code", CAST(nullif("Spend", '') AS INTEGER) FROM snap
) GROUP BY 1, 2 ORDER BY 3 DESC, 1 LIMIT 100
"""


def sqlite(corpus, work, seconds):
    db = os.path.join(work, "ads.db")
    lines = os.path.join(work, "meta.jsonl")
    google = os.path.join(work, "google.csv")
    started = time.perf_counter()
    # sqlite-utils reads files: the bundle's member and Meta's pages are
    # written out first, as a user would, and that counts as loading.
    with corpus.google_bytes() as src, open(google, "wb") as out:
        shutil.copyfileobj(src, out, 1 << 20)
    with open(lines, "wb") as out:
        for line in corpus.meta_lines():
            out.write(line + b"\n")
    for table, path, kind in [("google", google, "--csv"), ("meta", lines, "--nl"),
                              ("snap", corpus.snap, "--csv")]:
        subprocess.run(["sqlite-utils", "insert", db, table, path, kind], check=True)
    for table, columns in [("google", GOOGLE_TEXT), ("meta", META_TEXT), ("snap", SNAP_TEXT)]:
        subprocess.run(["sqlite-utils", "enable-fts", db, table, *columns, "--fts5"], check=True)
    load = time.perf_counter() - started

    port = free_port()
    server = subprocess.Popen(
        ["datasette", "serve", db, "--port", str(port), "--setting", "sql_time_limit_ms", "60000",
         "--setting", "max_returned_rows", "1000"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_http(port, "/-/versions.json")
        search = SEARCH_SQL.format(matches=SQLITE_MATCHES)

        def path(sql, q):
            return "/ads.json?" + urllib.parse.urlencode({"sql": " ".join(sql.split()), "q": q, "_shape": "array"})

        word = [path(search, w) for w in WORDS]
        http_mean(port, word)  # warm
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        count = f"SELECT count(*) AS n FROM ({SQLITE_MATCHES})"
        connection.request("GET", path(count, WORDS[0]))
        matches = json.loads(connection.getresponse().read())[0]["n"]
        return {
            "matches": matches,
            "load": load,
            "word8": wrk(port, word, 8, seconds, work),
            "word32": wrk(port, word, 32, seconds, work),
            "phrase": http_mean(port, [path(search, f'"{PHRASE}"')]),
            "spend": http_mean(port, ["/ads.json?" + urllib.parse.urlencode(
                {"sql": " ".join(SQLITE_SPEND.split()), "_shape": "array"})]),
        }
    finally:
        server.kill()
        server.wait()


# ------------------------------------------------------------------- DuckDB

DUCKDB_SEARCH = """
WITH m AS (SELECT platform, uid AS id, first_shown AS shown FROM ads WHERE {match})
SELECT * FROM (SELECT 'count' AS kind, platform, CAST(NULL AS TEXT) AS id, count(*) AS n FROM m GROUP BY platform) c
UNION ALL
SELECT * FROM (SELECT 'newest', platform, id, CAST(NULL AS BIGINT) FROM m ORDER BY shown DESC NULLS LAST LIMIT 20) t
"""

DUCKDB_SPEND = """
SELECT advertiser, s.currency, count(*) AS ads, sum(s.lower) AS lower
FROM (SELECT advertiser, unnest(spend) AS s FROM ads) GROUP BY 1, 2 ORDER BY 3 DESC, 1 LIMIT 100
"""


def duckdb_peer(export, work, seconds):
    import duckdb

    con = duckdb.connect(os.path.join(work, "ads.duckdb"))
    con.execute("SET threads = 2")
    started = time.perf_counter()
    con.execute(f"""
        CREATE TABLE ads AS SELECT uid, platform, advertiser.name AS advertiser, first_shown, spend,
          lower(concat_ws(' ', advertiser.name, funder, array_to_string(creative.bodies, ' '),
                          array_to_string(creative.titles, ' '), array_to_string(creative.descriptions, ' ')))
            AS text
        FROM read_json('{export}', format = 'newline_delimited')""")
    load = time.perf_counter() - started

    def word(w):
        return DUCKDB_SEARCH.format(match=f"regexp_matches(text, '\\b{w}\\b')")

    def rate(connections):
        done = [0] * connections
        stop = time.perf_counter() + seconds

        def client(n):
            cursor = con.cursor()
            i = 0
            while time.perf_counter() < stop:
                cursor.execute(word(WORDS[i % len(WORDS)])).fetchall()
                i += 1
            done[n] = i

        threads = [threading.Thread(target=client, args=(n,)) for n in range(connections)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        return sum(done) / seconds

    def mean(sql):
        con.execute(sql).fetchall()
        times = []
        for _ in range(ROUNDS):
            started = time.perf_counter()
            con.execute(sql).fetchall()
            times.append(time.perf_counter() - started)
        return 1000 * sum(times) / len(times)

    count = f"SELECT count(*) FROM ads WHERE regexp_matches(text, '\\b{WORDS[0]}\\b')"
    return {
        "matches": con.execute(count).fetchone()[0],
        "load": load,
        "word8": rate(8),
        "word32": rate(32),
        "phrase": mean(DUCKDB_SEARCH.format(match=f"contains(text, '{PHRASE}')")),
        "spend": mean(DUCKDB_SPEND),
    }


# ------------------------------------------------------------------- report

def report(title, corpus_size, ads, results):
    names = list(results)
    print(f"\n#### {title}: {ads:,} ads, {corpus_size / 1e6:.0f} MB of exports\n")
    print("| | " + " | ".join(names) + " |")
    print("|---|" + "---:|" * len(names))
    ours = results["adarchive"]

    def row(label, key, unit, higher_is_better):
        cells = []
        for name in names:
            value = results[name][key]
            cell = f"{value:,.0f} {unit}" if value >= 100 else f"{value:,.1f} {unit}"
            if name != "adarchive":
                ratio = (ours[key] / value) if higher_is_better else (value / ours[key])
                cell += f" (adarchive {ratio:.1f}×)"
            cells.append(cell)
        print(f"| {label} | " + " | ".join(cells) + " |")

    print(f"| ads matching `{WORDS[0]}` | " + " | ".join(f"{results[n]['matches']:,}" for n in names) + " |")
    row("load (import, index)", "load", "s", False)
    row("word search + platform counts, 8 connections", "word8", "req/s", True)
    row("word search + platform counts, 32 connections", "word32", "req/s", True)
    row("phrase search, mean of 20", "phrase", "ms", False)
    row("spend by advertiser × currency, mean of 20", "spend", "ms", False)
    print(f"\nadarchive's import peaked at {ours['load_peak']:.0f} MiB resident "
          f"({ads / ours['load']:,.0f} ads/s).")
    print("(For times, `adarchive N×` is how many times longer the peer took; "
          "for rates, how many times more requests adarchive answered.)")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--ads", type=int, default=100_000)
    parser.add_argument("--files", default="many,one-per-platform")
    parser.add_argument("--advertisers", default="realistic,one-per-ad")
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--work", help="a folder for the corpora and databases (default: a temporary one)")
    args = parser.parse_args()
    if not os.path.exists(BINARY):
        sys.exit("build the release binary first: cargo build --release")
    for tool in ["wrk", "sqlite-utils", "datasette"]:
        if not shutil.which(tool):
            sys.exit(f"{tool} not found (wrk from the system's packages; pip install sqlite-utils datasette)")
    root = args.work or tempfile.mkdtemp(prefix="adarchive-peers-")
    for files in args.files.split(","):
        for advertisers in args.advertisers.split(","):
            work = os.path.join(root, f"{files}-{advertisers}")
            shutil.rmtree(work, ignore_errors=True)
            os.makedirs(work)
            folder = os.path.join(work, "corpus")
            subprocess.run([BINARY, "generate-samples", folder, "--ads", str(args.ads), "--seed", "11",
                            "--files", files, "--advertisers", advertisers],
                           check=True, stdout=subprocess.DEVNULL)
            for other in ["microsoft", "tiktok", "linkedin", "x", "google-atc"]:
                shutil.rmtree(os.path.join(folder, other), ignore_errors=True)
            corpus = Corpus(folder)
            # Google, Meta and Snap: all but the 2 % of each other platform.
            ads = args.ads - 5 * (args.ads * 2 // 100)
            subprocess.run(["sync"])
            results = {}
            results["adarchive"], export = adarchive(corpus, work, args.seconds)
            results["PostgreSQL"] = postgres(corpus, work, args.seconds)
            results["sqlite-utils + Datasette"] = sqlite(corpus, work, args.seconds)
            results["DuckDB (NDJSON export)"] = duckdb_peer(export, work, args.seconds)
            report(f"{files} files, {advertisers} advertisers", corpus.size(), ads, results)
            sys.stdout.flush()
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
