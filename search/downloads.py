"""Result tables as TSV, CSV or Excel: every column, and a first line naming release, model and query.

Three tables: the hits (`COLUMNS`, one row per signature), the hits grouped
by perturbagen (`PERTURBAGEN_COLUMNS`, one row per perturbagen of a list), and
the mechanisms of action and targets tested for over-representation among
each list's compounds (`MECHANISM_COLUMNS`, one row per term of a list).
"""

from __future__ import annotations

import csv
import io

COLUMNS = [
    "pert_type", "direction", "position", "sig_id", "pert_id", "perturbagen", "cell_line",
    "dose", "dose_unit", "time", "time_unit", "cd", "log2fc", "fold_change", "rank_in_signature",
    "discordant", "self_target", "target_gene", "pert_targets", "pert_moa", "n_replicates", "n_controls", "controls", "batch", "source",
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
        for hit in hl.hits:
            s = hit.signature
            rows.append([
                s.pert_type if len(hl.pert_types) != 1 else types, hl.direction, hit.position, s.sig_id, s.pert_id, s.pert_name, s.cell_line,
                s.dose, s.dose_unit, s.time, s.time_unit, hit.cd, hit.logfc, hit.fold_change, hit.rank,
                hit.discordant, hit.self_target, s.target_gene, s.pert_targets, s.pert_moa, s.n_replicates, s.n_controls, s.controls, s.batch, hl.source,
            ])
    return rows


PERTURBAGEN_COLUMNS = [
    "pert_type", "direction", "best_position", "pert_id", "perturbagen", "n_listed", "n_signatures", "n_agree", "agreement",
    "n_cell_lines", "n_cell_lines_agree", "median_cd", "median_log2fc", "cell_lines",
]


def perturbagen_rows(hit_lists, grouped) -> list[list]:
    """One row per perturbagen of each list (search.perturbagens), lists one after another, in PERTURBAGEN_COLUMNS order."""
    rows = []
    for hl, groups in zip(hit_lists, grouped):
        for g in groups:
            rows.append([
                g.pert_type, hl.direction, g.best_position, g.pert_id, g.pert_name, g.n_listed, g.n_signatures, g.n_agree, g.agreement,
                g.n_cell_lines, g.n_cell_lines_agree, g.median_cd, g.median_logfc, ",".join(g.cell_lines),
            ])
    return rows


MECHANISM_COLUMNS = [
    "pert_type", "direction", "annotation", "term", "listed", "n_listed", "background", "n_background", "fold",
    "p_value", "fdr", "enriched", "perturbagens",
]


def mechanism_rows(hit_lists, enrichments) -> list[list]:
    """One row per tested term of each list: enrichments holds, per list, {"moa": [...], "target": [...]} of
    search.enrichment.TermEnrichment, in MECHANISM_COLUMNS order."""
    rows = []
    for hl, by_kind in zip(hit_lists, enrichments):
        types = ",".join(hl.pert_types)
        for kind, terms in by_kind.items():
            for t in terms:
                rows.append([
                    types, hl.direction, kind, t.term, t.listed, t.n_listed, t.background, t.n_background, t.fold,
                    t.p_value, t.fdr, t.enriched, ",".join(t.perturbagens),
                ])
    return rows


# A text cell starting with one of these is read as a formula by spreadsheet
# programs (CSV injection); such cells are prefixed with a quote.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _text(value: str) -> str:
    return "'" + value if value.startswith(FORMULA_STARTS) else value


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, str):
        return _text(value)
    return str(value)


def _xlsx_cell(ws, value):
    """Numbers stay numbers; text is always a string cell, never a formula."""
    from openpyxl.cell import WriteOnlyCell

    if isinstance(value, bool):
        value = "yes" if value else "no"
    cell = WriteOnlyCell(ws, value=value)
    if isinstance(value, str):
        cell.data_type = "s"
    return cell


def render(fmt: str, header: str, hit_lists) -> bytes:
    """The hits table: `header` (one line) first, then the column names, then the rows."""
    return render_table(fmt, header, COLUMNS, table_rows(hit_lists), sheet="signatures")


def render_table(fmt: str, header: str, columns: list[str], rows: list[list], *, sheet: str) -> bytes:
    """The whole file: `header` (one line) first, then `columns`, then `rows`."""
    if fmt == "xlsx":
        from openpyxl import Workbook

        wb = Workbook(write_only=True)
        ws = wb.create_sheet(sheet)
        ws.append([_xlsx_cell(ws, header)])
        ws.append(columns)
        for row in rows:
            ws.append([_xlsx_cell(ws, v) for v in row])
        buf = io.BytesIO()
        wb.save(buf)
        return buf.getvalue()
    text = io.StringIO()
    # CRLF line ends (RFC 4180): a cell holding a CR or LF is then quoted, so it
    # can never start a row of its own.
    writer = csv.writer(text, delimiter="\t" if fmt == "tsv" else ",", lineterminator="\r\n")
    text.write(f"# {header}\r\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([_cell(v) for v in row])
    return text.getvalue().encode("utf-8")
