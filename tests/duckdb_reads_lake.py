"""DuckDB reads the lake as it is: hive-partitioned Parquet, no product code involved.

Usage: python3 tests/duckdb_reads_lake.py LAKE EXPECTED_JSON
EXPECTED_JSON maps "year" -> number of respondents. Prints one line per check; exits 1 on a
mismatch. Run by tests/other_engines.rs; needs `pip install duckdb` (.ci/run installs it).
"""
import json
import sys

import duckdb

lake, expected = sys.argv[1], json.loads(sys.argv[2])
con = duckdb.connect()
rows = con.execute(
    "SELECT jaar, count(*), count(DISTINCT respondent_key), sum(weight) "
    "FROM read_parquet(?, hive_partitioning = true) GROUP BY jaar ORDER BY jaar",
    [f"{lake}/respondents/*/*.parquet"],
).fetchall()
got = {str(r[0]): r[1] for r in rows}
ok = got == {k: int(v) for k, v in expected.items()}
for jaar, n, keys, weights in rows:
    print(f"jaar={jaar}: {n} rows, {keys} distinct keys, weights sum to {weights:.6f}")
    ok = ok and n == keys and abs(weights - n) < 1e-6
deliveries = con.execute("SELECT count(*) FROM read_parquet(?)", [f"{lake}/deliveries.parquet"]).fetchone()[0]
print(f"deliveries.parquet: {deliveries} rows")
print("duckdb: ok" if ok else f"duckdb: MISMATCH, expected {expected}, got {got}")
sys.exit(0 if ok else 1)
