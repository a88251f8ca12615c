"""Peer job for the indicators stage (issue 18, BENCHMARKS.md): the same weighted means and
percentages for the same groups as `indicators/municipality.parquet` and `national.parquet`,
as DuckDB SQL over the published lake. No standard errors (DuckDB has none built in), no
multiple-response shares; it is timed for the ratio, not used for any figure.

Usage: python3 bench/peer_indicators_duckdb.py LAKE CATALOGUE_CSV
Prints the number of figures computed and the seconds it took.
"""
import csv
import sys
import time

import duckdb

lake, catalogue = sys.argv[1], sys.argv[2]
rows = [r for r in csv.DictReader(open(catalogue, encoding="utf-8")) if r["kind"] in ("mean", "percent")
        and r["domain"] == ""]
started = time.perf_counter()
con = duckdb.connect()
con.execute(f"""create view r as
    select * from read_parquet('{lake}/respondents/*/*.parquet', hive_partitioning = true) a
    join read_parquet('{lake}/indicators/respondents/*/*.parquet', hive_partitioning = true) b
    using (respondent_key, jaar)""")
columns = {c[0] for c in con.execute("describe r").fetchall()}
figures = 0
for r in rows:
    source = r["source"]
    if source not in columns:
        continue
    if r["kind"] == "mean":
        y = f'"{source}"'
    else:
        codes = ",".join(r["codes"].split("|"))
        y = f'case when "{source}" is null then null when "{source}" in ({codes}) then 100.0 else 0.0 end'
    for group, weight in (("gemeente_code, jaar", "weight"), ("jaar", "weight_national")):
        out = con.execute(f"""select {group}, sum({weight} * y) / sum({weight}) from
            (select {group}, {weight}, {y} as y from r where {weight} is not null and {y} is not null)
            group by {group}""").fetchall()
        figures += len(out)
print(f"{figures} figures in {time.perf_counter() - started:.2f} s")
