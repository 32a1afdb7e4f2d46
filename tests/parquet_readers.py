"""Reads adarchive's Parquet exports with other engines and checks them.

    python3 tests/parquet_readers.py FOLDER FILE EXPECTED.json

FOLDER is an `adarchive export --format parquet --out FOLDER` (partitioned
by platform and year), FILE a `GET /v1/export?format=parquet` answer, and
EXPECTED.json what `/v1/spend` says of the same ads:

    {"ads": N, "platforms": {"meta": N, ...},
     "currencies": {"EUR": {"ads": N, "lower": N, "upper": N or null,
                            "open_ended": N}, ...}}

DuckDB, pyarrow, Polars and Apache Spark each read both and must find the
same number of ads, per platform, and the same spend sums per currency.
Exits 1 with the differences, 2 when an engine is not installed.
"""

import json
import sys


def spend_by_currency(rows):
    """rows: (currency, ads, lower, upper_sum_of_bounded, open_ended)."""
    return {
        currency: {
            "ads": int(ads),
            "lower": int(lower or 0),
            "upper": None if int(open_ended) else int(upper or 0),
            "open_ended": int(open_ended),
        }
        for currency, ads, lower, upper, open_ended in rows
    }


SPEND_SQL = """
SELECT s.currency, count(*), sum(s.lower), sum(s.upper),
       sum(CASE WHEN s.upper IS NULL THEN 1 ELSE 0 END)
FROM (SELECT explode(spend) AS s FROM ads) GROUP BY s.currency
"""


def with_duckdb(folder, file):
    import duckdb

    found = []
    for source in (
        f"read_parquet('{folder}/**/*.parquet', hive_partitioning = true)",
        f"read_parquet('{file}')",
    ):
        db = duckdb.connect()
        db.execute(f"CREATE VIEW ads AS SELECT * FROM {source}")
        ads = db.execute("SELECT count(*) FROM ads").fetchone()[0]
        platforms = dict(
            db.execute("SELECT platform, count(*) FROM ads GROUP BY 1").fetchall()
        )
        spend = spend_by_currency(
            db.execute(SPEND_SQL.replace("explode", "unnest")).fetchall()
        )
        found.append((ads, platforms, spend))
    return found


def with_pyarrow(folder, file):
    import pyarrow.compute as pc
    import pyarrow.dataset as ds
    import pyarrow.parquet as pq

    found = []
    for table in (
        ds.dataset(folder, format="parquet", partitioning="hive").to_table(),
        pq.read_table(file),
    ):
        platforms = {}
        for row in table.group_by("platform").aggregate([("uid", "count")]).to_pylist():
            platforms[str(row["platform"])] = row["uid_count"]
        entries = pc.list_flatten(table.column("spend"))
        flat = entries.combine_chunks() if hasattr(entries, "combine_chunks") else entries
        spend = {}
        currencies = flat.field("currency").to_pylist()
        lowers = flat.field("lower").to_pylist()
        uppers = flat.field("upper").to_pylist()
        for currency, lower, upper in zip(currencies, lowers, uppers):
            s = spend.setdefault(currency, [currency, 0, 0, 0, 0])
            s[1] += 1
            s[2] += lower
            if upper is None:
                s[4] += 1
            else:
                s[3] += upper
        found.append((table.num_rows, platforms, spend_by_currency(spend.values())))
    return found


def with_polars(folder, file):
    import polars as pl

    found = []
    for frame in (
        pl.read_parquet(f"{folder}/**/*.parquet", hive_partitioning=True),
        pl.read_parquet(file),
    ):
        platforms = dict(frame.group_by("platform").len().iter_rows())
        entries = frame.select(pl.col("spend").explode()).unnest("spend").drop_nulls("currency")
        rows = (
            entries.group_by("currency")
            .agg(
                pl.len(),
                pl.col("lower").sum(),
                pl.col("upper").sum(),
                pl.col("upper").is_null().sum().alias("open_ended"),
            )
            .iter_rows()
        )
        found.append((frame.height, {str(k): v for k, v in platforms.items()}, spend_by_currency(rows)))
    return found


def with_spark(folder, file):
    from pyspark.sql import SparkSession

    spark = (
        SparkSession.builder.master("local[2]")
        .appName("adarchive-parquet")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", "4")
        .config("spark.driver.bindAddress", "127.0.0.1")
        .getOrCreate()
    )
    found = []
    try:
        for frame in (spark.read.parquet(folder), spark.read.parquet(file)):
            frame.createOrReplaceTempView("ads")
            ads = frame.count()
            platforms = {
                r[0]: r[1]
                for r in spark.sql("SELECT platform, count(*) FROM ads GROUP BY platform").collect()
            }
            rows = [tuple(r) for r in spark.sql(SPEND_SQL).collect()]
            found.append((ads, platforms, spend_by_currency(rows)))
    finally:
        spark.stop()
    return found


def main():
    folder, file, expected_path = sys.argv[1:4]
    with open(expected_path, encoding="utf-8") as f:
        expected = json.load(f)
    want = (expected["ads"], expected["platforms"], expected["currencies"])
    failures = []
    for name, read in (
        ("DuckDB", with_duckdb),
        ("pyarrow", with_pyarrow),
        ("Polars", with_polars),
        ("Spark", with_spark),
    ):
        try:
            found = read(folder, file)
        except ImportError as e:
            print(f"{name} is not installed: {e}", file=sys.stderr)
            sys.exit(2)
        for what, got in zip(("folder", "file"), found):
            if got != want:
                failures.append(f"{name} ({what}): found {got!r}, expected {want!r}")
            else:
                print(f"{name} ({what}): {got[0]} ads, {len(got[2])} currencies: as expected")
    if failures:
        print("\n".join(failures), file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
