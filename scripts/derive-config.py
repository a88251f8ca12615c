#!/usr/bin/env python3
"""Derive config/municipalities.csv and config/municipal-mergers.csv from the CBS
reference files in ../shared/reference-data/cbs/. Run from the project root:

    python3 scripts/derive-config.py ../shared/reference-data/cbs

Only needed when the reference tables change; the outputs are committed."""
import csv, sys, pathlib

src = pathlib.Path(sys.argv[1])
out = pathlib.Path("config")

with open(src / "kwb-2024-85984NED.csv", encoding="utf-8-sig", newline="") as f:
    rows = list(csv.reader(f, delimiter=";"))
munis = sorted({(r[3].strip(), r[1].strip()) for r in rows[1:] if r[2].strip() == "Gemeente"})
with open(out / "municipalities.csv", "w", encoding="utf-8", newline="") as f:
    w = csv.writer(f, lineterminator="\n")
    w.writerow(["code", "name"])
    w.writerows(munis)

with open(src / "gemeente-crosswalk-2018-2023.csv", encoding="utf-8", newline="") as f:
    rows = list(csv.DictReader(f))
with open(out / "municipal-mergers.csv", "w", encoding="utf-8", newline="") as f:
    w = csv.writer(f, lineterminator="\n")
    w.writerow(["effective_date", "old_code", "old_name", "new_code", "new_name", "type"])
    for r in rows:
        kind = "split" if r["type"].startswith("split") else r["type"]
        w.writerow([r["effective_date"], r["old_code"], r["old_name"], r["new_code"], r["new_name"], kind])
print(len(munis), "municipalities,", len(rows), "merger rows")
