"""pyarrow, Polars and DuckDB each show the lake files' metadata (product version, codebook,
hashes, delivery ids, build id) as the product wrote it into the Parquet footer.

Usage: python3 tests/engines_read_metadata.py FILE...
Prints one line per engine and file; exits 1 when an engine misses a key or shows another
value. Run by tests/other_engines.rs; needs `pip install pyarrow polars duckdb` (.ci/run).
"""
import sys

import duckdb
import polars as pl
import pyarrow.parquet as pq

KEYS = [
    "burgerpeiling.build_id",
    "burgerpeiling.codebook_version",
    "burgerpeiling.config_hash",
    "burgerpeiling.delivery_ids",
    "burgerpeiling.pipeline_hash",
    "burgerpeiling.product_version",
]

ok = True
for path in sys.argv[1:]:
    # The footer's key-value metadata as the reference, read without any engine's schema logic.
    footer = {k.decode(): v.decode() for k, v in pq.ParquetFile(path).metadata.metadata.items()}
    engines = {
        "pyarrow": {k.decode(): v.decode() for k, v in (pq.read_schema(path).metadata or {}).items()},
        "polars": dict(pl.read_parquet_metadata(path)),
        "duckdb": dict(
            duckdb.execute(
                "SELECT key::VARCHAR, value::VARCHAR FROM parquet_kv_metadata(?)", [path]
            ).fetchall()
        ),
    }
    for engine, shown in engines.items():
        missing = [k for k in KEYS if k not in footer or shown.get(k) != footer[k]]
        print(f"{engine} {path}: {'ok' if not missing else 'MISSING ' + ', '.join(missing)}")
        ok = ok and not missing
print("metadata: ok" if ok else "metadata: MISMATCH")
sys.exit(0 if ok else 1)
