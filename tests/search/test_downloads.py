"""Downloads: TSV, CSV and Excel with every column and a first line naming release, model and query."""

import csv
import io

import pytest
from openpyxl import load_workbook

from search.downloads import COLUMNS

pytestmark = pytest.mark.django_db


def test_tsv_has_the_header_line_columns_and_all_rows_of_the_top_lists(client, world):
    r = client.get("/genes/STAT3/download.tsv", {"metric": "rank"})
    assert r.status_code == 200 and r["Content-Type"].startswith("text/tab-separated-values")
    assert 'filename="l1kweb_STAT3_r1.tsv"' in r["Content-Disposition"]
    lines = r.content.decode().splitlines()
    assert lines[0] == "# l1kweb release r1; model two-step 1.0 (tiny); dataset ds-r1; query gene=STAT3 (Entrez 6774) type=all direction=up,down metric=rank offset=0 limit=100"
    rows = list(csv.DictReader(io.StringIO("\n".join(lines[1:])), delimiter="\t"))
    assert list(rows[0]) == COLUMNS
    # 100 rows per list requested, beyond the 8-row index: every signature in each direction, exact.
    by_list = {}
    for row in rows:
        by_list.setdefault((row["pert_type"], row["direction"]), []).append(row)
    gi = world.column_of("STAT3")
    for (t, d), got in by_list.items():
        n = sum(1 for s in world.signatures if s.pert_type == t and ((world.cd[s.column, gi] > 0) if d == "up" else (world.cd[s.column, gi] < 0)))
        assert len(got) == n and {r["source"] for r in got} == {"store"}
        assert [int(r["rank_in_signature"]) for r in got] == sorted(int(r["rank_in_signature"]) for r in got)


def test_csv_follows_the_filters_in_the_query_string(client, world):
    r = client.get("/genes/MYC/download.csv", {"cell_line": "A549", "type": "chemical", "direction": "up", "limit": 5})
    lines = r.content.decode().splitlines()
    assert lines[0].endswith("query gene=MYC (Entrez 4609) type=chemical direction=up metric=cd cell_line=A549 offset=0 limit=5")
    rows = list(csv.DictReader(io.StringIO("\n".join(lines[1:]))))
    assert rows and len(rows) <= 5 and {r["cell_line"] for r in rows} == {"A549"}
    assert {r["discordant"] for r in rows} <= {"yes", "no"}


def test_excel_download_holds_the_same_table(client, world):
    r = client.get("/genes/SFRP2/download.xlsx", {"limit": 4})
    ws = load_workbook(io.BytesIO(r.content)).active
    values = list(ws.values)
    assert values[0][0].startswith("l1kweb release r1; model two-step 1.0 (tiny)")
    assert list(values[1]) == COLUMNS
    assert len(values) == 2 + 4 * 4  # two types x two directions x 4 rows
