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
    assert lines[0] == (
        "# l1kweb release r1; model two-step 1.0 (tiny); precision fp32 on cpu, stored as float32; dataset ds-r1; controls all; gamma 1; min replicates 2; "
        "query gene=STAT3 (Entrez 6774; measured by L1000; values shown are the model's RNA-seq-like predictions; "
        "is predicted with r = 0.82 on paired L1000/RNA-seq samples (n = 40; gtex_l1000.gctx + gtex_rnaseq.gctx (log2))) "
        "type=all direction=up,down metric=rank offset=0 limit=100"
    )
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
    assert lines[0].endswith(
        "query gene=MYC (Entrez 4609; measured by L1000; values shown are the model's RNA-seq-like predictions; "
        "is predicted with r = 0.12 on paired L1000/RNA-seq samples (n = 40; gtex_l1000.gctx + gtex_rnaseq.gctx (log2)); "
        "below 0.30, the level under which this site warns: its values are weakly predicted, treat its hits with caution) "
        "type=chemical direction=up metric=cd cell_line=A549 offset=0 limit=5"
    )
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


@pytest.mark.parametrize("hostile", ["=HYPERLINK(\"http://evil.example\",\"x\")", "+1+2", "-2+3", "@SUM(A1)", "\tcmd", "\rcmd"])
def test_text_cells_that_a_spreadsheet_would_run_as_formulas_are_neutralised(client, world, hostile):
    from signatures.models import Signature

    Signature.objects.update(pert_name=hostile)
    for fmt, delimiter in (("csv", ","), ("tsv", "\t")):
        body = client.get(f"/genes/STAT3/download.{fmt}").content.decode().split("\r\n", 1)[1]
        rows = list(csv.DictReader(io.StringIO(body, newline=""), delimiter=delimiter))
        assert rows and {r["perturbagen"] for r in rows} == {"'" + hostile}
        # Numbers are still plain numbers, negative ones included.
        assert any(float(r["cd"]) < 0 for r in rows) and all(not r["cd"].startswith("'") for r in rows)
    sheet = load_workbook(io.BytesIO(client.get("/genes/STAT3/download.xlsx").content)).active
    header = [c.value for c in next(sheet.iter_rows(min_row=2, max_row=2))]
    cells = [row for row in sheet.iter_rows(min_row=3)]
    name_cells = [row[header.index("perturbagen")] for row in cells]
    # XML keeps a CR as a line break, so the text is compared without its leading white space.
    assert name_cells and all(c.data_type == "s" and c.value.lstrip() == hostile.lstrip() for c in name_cells)
    assert all(isinstance(row[header.index("cd")].value, float) for row in cells)
