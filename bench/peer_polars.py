"""The peer job of issue 9, in Polars: what a data team would write without burgerpeiling.

Reads every delivery under an inbox (.xlsx/.xls with fastexcel's calamine engine, .csv with
Polars, .sav with pyreadstat), unions them (diagonal concat: the 2019 and 2022 dataformats have
different columns), drops exact duplicate rows, post-stratifies on the age band `ch02` per
municipality-year against the synthetic population table, and writes one Parquet file.

Minimal on purpose: no header detection, no code harmonisation, no privacy scan, no report.
It reads the plain corpus `burgerpeiling synth --formats ...` writes (csv: `;`, UTF-8, decimal
comma; spreadsheets: header in row 1). `bench/run.sh` times it beside `burgerpeiling run`.

Usage: peer_polars.py INBOX POPULATION_CSV OUT_PARQUET
"""

import pathlib
import sys

import polars as pl
import pyreadstat


def read(path: pathlib.Path) -> pl.DataFrame:
    ext = path.suffix.lower()
    if ext in (".xlsx", ".xls"):
        df = pl.read_excel(path, engine="calamine")
    elif ext == ".csv":
        df = pl.read_csv(path, separator=";", decimal_comma=True, infer_schema_length=None)
    elif ext == ".sav":
        df, _meta = pyreadstat.read_sav(str(path), output_format="polars")
    else:
        raise SystemExit(f"{path}: not a format this script reads; remove it from the inbox")
    # One type per column across files: numbers as Float64, the district code as text.
    return df.select(
        pl.col(c).cast(pl.Utf8) if c == "wijknr" else pl.col(c).cast(pl.Float64) for c in df.columns
    )


def population_shares(path: str) -> pl.DataFrame:
    """(jr, gemnr, ch02, pop_share): age bands numbered 1..6 by their lower bound."""
    pop = pl.read_csv(path).filter(pl.col("region").str.starts_with("GM") & (pl.col("sex") == "total"))
    return (
        pop.with_columns(
            jr=pl.col("year").cast(pl.Float64),
            gemnr=pl.col("region").str.slice(2).cast(pl.Float64),
            ch02=pl.col("age_from").rank("dense").over("year", "region").cast(pl.Float64),
        )
        .with_columns(pop_share=pl.col("count") / pl.col("count").sum().over("jr", "gemnr"))
        .select("jr", "gemnr", "ch02", "pop_share")
    )


def main() -> None:
    if len(sys.argv) != 4:
        raise SystemExit(__doc__.strip().splitlines()[-1])
    inbox, population, out = pathlib.Path(sys.argv[1]), sys.argv[2], sys.argv[3]
    files = sorted(p for p in inbox.rglob("*") if p.is_file())
    df = pl.concat([read(p) for p in files], how="diagonal").unique()

    answered = pl.col("ch02").is_between(1, 6)
    sample = (
        df.filter(answered)
        .group_by("jr", "gemnr", "ch02")
        .agg(n=pl.len())
        .with_columns(sample_share=pl.col("n") / pl.col("n").sum().over("jr", "gemnr"))
    )
    cells = sample.join(population_shares(population), on=["jr", "gemnr", "ch02"], how="left")
    weighted = (
        df.join(cells.select("jr", "gemnr", "ch02", "pop_share", "sample_share"), on=["jr", "gemnr", "ch02"], how="left")
        .with_columns(weight=pl.when(answered).then(pl.col("pop_share") / pl.col("sample_share")).otherwise(1.0))
        .drop("pop_share", "sample_share")
    )
    weighted.write_parquet(out)
    print(f"peer: {len(files)} files, {weighted.height} rows -> {out}")


if __name__ == "__main__":
    main()
