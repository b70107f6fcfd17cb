"""Result tables as TSV, CSV or Excel: every column, and a first line naming release, model and query."""

from __future__ import annotations

import csv
import io

COLUMNS = [
    "pert_type", "direction", "position", "sig_id", "pert_id", "perturbagen", "cell_line",
    "dose", "dose_unit", "time", "time_unit", "cd", "log2fc", "fold_change", "rank_in_signature",
    "discordant", "n_replicates", "n_controls", "batch", "source",
]
CONTENT_TYPES = {
    "tsv": "text/tab-separated-values; charset=utf-8",
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def table_rows(hit_lists) -> list[list]:
    """One row per hit, lists one after another, in COLUMNS order."""
    rows = []
    for hl in hit_lists:
        types = ",".join(hl.pert_types)
        for i, hit in enumerate(hl.hits, start=hl.offset + 1):
            s = hit.signature
            rows.append([
                s.pert_type if len(hl.pert_types) != 1 else types, hl.direction, i, s.sig_id, s.pert_id, s.pert_name, s.cell_line,
                s.dose, s.dose_unit, s.time, s.time_unit, hit.cd, hit.logfc, hit.fold_change, hit.rank,
                hit.discordant, s.n_replicates, s.n_controls, s.batch, hl.source,
            ])
    return rows


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


def render(fmt: str, header: str, hit_lists) -> bytes:
    """The whole file: `header` (one line) first, then the column names, then the rows."""
    rows = table_rows(hit_lists)
    if fmt == "xlsx":
        from openpyxl import Workbook

        wb = Workbook(write_only=True)
        ws = wb.create_sheet("signatures")
        ws.append([header])
        ws.append(COLUMNS)
        for row in rows:
            ws.append(["yes" if v is True else "no" if v is False else v for v in row])
        buf = io.BytesIO()
        wb.save(buf)
        return buf.getvalue()
    text = io.StringIO()
    writer = csv.writer(text, delimiter="\t" if fmt == "tsv" else ",", lineterminator="\n")
    text.write(f"# {header}\n")
    writer.writerow(COLUMNS)
    for row in rows:
        writer.writerow([_cell(v) for v in row])
    return text.getvalue().encode("utf-8")
