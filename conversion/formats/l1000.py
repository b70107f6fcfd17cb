"""L1000 companion tables (GEO inst_info, gene_info) and landmark selection.

Genes are matched by Entrez id, never by symbol: symbols drift, and matching
on them lost 16 landmarks in the reference code.
"""

import re
from pathlib import Path

import numpy as np
import pandas as pd

from conversion.formats.errors import FormatError, MissingGenesError

# The per-profile metadata columns every registered dataset carries, in order.
# `pert_type` keeps the raw L1000 value (trt_cp, trt_xpr, ctl_vehicle, ctl_vector...);
# `rna_plate` is `det_plate` for LINCS Phase II files.
PROFILE_COLUMNS = [
    "inst_id",
    "cell_id",
    "pert_id",
    "pert_iname",
    "pert_type",
    "pert_dose",
    "pert_dose_unit",
    "pert_time",
    "pert_time_unit",
    "rna_plate",
    "rna_well",
]

# Phase II (GSE70138) and embedded-GCTX spellings of the same fields.
_ALIASES = {
    "sample_id": "inst_id",
    "id": "inst_id",
    "det_plate": "rna_plate",
    "det_well": "rna_well",
    "cell_iname": "cell_id",
    "cmap_name": "pert_iname",
}

_MISSING = {"-666", "-666.0", "", "nan", "NaN", "NA", "na", "None"}

_ID_COLUMNS = ("inst_id", "sample_id")

# Every spelling of a dose or time unit met in L1000 releases, mapped to the one
# the project writes. `\xb5` and `\xc2\xb5` are the micro sign read as latin-1
# from UTF-8 files; keys are compared after stripping spaces and lower-casing.
UNIT_SPELLINGS = {
    "um": "uM", "\u00b5m": "uM", "\u00c2\u00b5m": "uM", "\u03bcm": "uM", "micromolar": "uM",
    "nm": "nM", "nanomolar": "nM",
    "mm": "mM",
    "pm": "pM",
    "ng/ml": "ng/mL", "ng/\u00b5l": "ng/uL", "ng/ul": "ng/uL",
    "ug/ml": "ug/mL", "\u00b5g/ml": "ug/mL", "\u00c2\u00b5g/ml": "ug/mL",
    "ul": "uL", "\u00b5l": "uL", "\u00c2\u00b5l": "uL",
    "h": "h", "hr": "h", "hrs": "h", "hour": "h", "hours": "h",
    "min": "min", "mins": "min", "minutes": "min",  # never "m": lower-cased, molar "M" would read as minutes
    "d": "d", "day": "d", "days": "d",
}
_UNIT_LOOKUP = {spelling.lower(): unit for spelling, unit in UNIT_SPELLINGS.items()}


def normalise_unit(unit):
    """The project's spelling of a dose or time unit (UNIT_SPELLINGS); an unknown unit is kept as given, a missing one stays None."""
    if unit is None:
        return None
    return _UNIT_LOOKUP.get(str(unit).replace(" ", "").lower(), str(unit))

# The replicate token of a plate name: `_X<n>`, then the end or a '.'/'_'
# suffix (the bead batch `_B19`, `.A2_B29`, `_B3_DUO52HI53LO`, ...).
_REPLICATE_TOKEN = re.compile(r"_X\d+(?=$|[._])")


def read_table(path, *, what: str, keep_ids=None, id_column: str | None = None, chunksize: int = 200_000) -> pd.DataFrame:
    """Read a tab-separated table as text (ids must not become floats), -666 as missing.

    Streamed in chunks; with `keep_ids` only the rows whose `id_column` is in
    that set are kept, so a 1.3-million-row GEO inst_info costs the memory of
    the profiles actually used.
    """
    path = Path(path)
    if not path.exists():
        raise FormatError(f"{what} file {path} does not exist.", path=path)
    keep = None if keep_ids is None else set(map(str, keep_ids))
    parts = []
    try:
        reader = pd.read_csv(
            path, sep="\t", dtype=str, keep_default_na=False, encoding="latin-1", compression="infer", chunksize=chunksize
        )
        for chunk in reader:
            if keep is not None:
                column = next((c for c in (id_column, *_ID_COLUMNS) if c and c in chunk.columns), None)
                if column is None:
                    raise FormatError(f"{what} file {path}: expected an id column ({', '.join(_ID_COLUMNS)}), found {', '.join(chunk.columns[:12])}.", path=path)
                chunk = chunk[chunk[column].isin(keep)]
            parts.append(chunk.where(~chunk.isin(_MISSING)))
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise FormatError(f"{what} file {path}: expected a tab-separated table with a header line, found unparsable text ({exc}).", path=path) from None
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()


def read_inst_info(path, *, inst_ids=None) -> pd.DataFrame:
    """GEO `inst_info` (Phase I) or `instinfo` (Phase II): one row per profile, normalised to PROFILE_COLUMNS.

    `inst_ids` (e.g. a matrix's column ids) keeps only those profiles while streaming.
    """
    return normalise_profile_metadata(read_table(path, what="inst_info", keep_ids=inst_ids), path=path)


def normalise_profile_metadata(meta: pd.DataFrame, *, path="metadata", ids=None) -> pd.DataFrame:
    """Rename Phase II / embedded fields to our names and keep PROFILE_COLUMNS (extra columns are dropped).

    `ids` (the matrix's column ids) fill `inst_id` when the table is indexed by
    them, as a GCTX's own column metadata is.
    """
    meta = meta.copy()
    if "inst_id" not in meta.columns:
        renamed = {src: dst for src, dst in _ALIASES.items() if src in meta.columns and dst not in meta.columns}
        meta = meta.rename(columns=renamed)
    if "rna_plate" not in meta.columns and "det_plate" in meta.columns:
        meta = meta.rename(columns={"det_plate": "rna_plate"})
    if "inst_id" not in meta.columns:
        if ids is None:
            raise FormatError(f"{path}: expected an inst_id (or sample_id) column, found columns {', '.join(map(str, meta.columns[:12]))}.", path=path)
        meta.insert(0, "inst_id", list(ids))
    meta = meta.reset_index(drop=True)
    for column in PROFILE_COLUMNS:
        if column not in meta.columns:
            meta[column] = None
    out = meta[PROFILE_COLUMNS].copy()
    out["inst_id"] = out["inst_id"].astype(str)
    for column in PROFILE_COLUMNS:
        if column not in ("pert_dose", "pert_time"):
            values = out[column].astype(object)
            missing = values.isna() | values.astype(str).isin(_MISSING)
            out[column] = values.astype(str).astype(object).where(~missing, None)
    for column in ("pert_dose_unit", "pert_time_unit"):
        out[column] = out[column].map(normalise_unit).astype(object)
    out["pert_dose"] = pd.to_numeric(out["pert_dose"], errors="coerce").astype(float)
    out["pert_time"] = pd.to_numeric(out["pert_time"], errors="coerce").astype(float)
    out.loc[out["pert_dose"] == -666, "pert_dose"] = np.nan
    out.loc[out["pert_time"] == -666, "pert_time"] = np.nan
    return out


def read_gene_info(path) -> pd.DataFrame:
    """GEO `gene_info`: pr_gene_id (Entrez, int), pr_gene_symbol, pr_gene_title, pr_is_lm, pr_is_bing."""
    table = read_table(path, what="gene_info")
    if "pr_is_lmark" in table.columns and "pr_is_lm" not in table.columns:
        table = table.rename(columns={"pr_is_lmark": "pr_is_lm"})  # older CMap spelling
    for column in ("pr_gene_id", "pr_gene_symbol", "pr_is_lm"):
        if column not in table.columns:
            raise FormatError(
                f"gene_info file {path}: expected a {column} column, found columns {', '.join(table.columns[:12])}.", path=path
            )
    ids = pd.to_numeric(table["pr_gene_id"], errors="coerce")
    if ids.isna().any():
        bad = table.loc[ids.isna(), "pr_gene_id"].iloc[0]
        raise FormatError(f"gene_info file {path}: expected integer Entrez ids in pr_gene_id, found {bad!r}.", path=path)
    table["pr_gene_id"] = ids.astype(np.int64)
    for flag in ("pr_is_lm", "pr_is_bing"):
        if flag in table.columns:
            table[flag] = pd.to_numeric(table[flag], errors="coerce").fillna(0).astype(int).astype(bool)
    if table["pr_gene_id"].duplicated().any():
        dup = table.loc[table["pr_gene_id"].duplicated(), "pr_gene_id"].iloc[0]
        raise FormatError(f"gene_info file {path}: expected one row per Entrez id, found {dup} more than once.", path=path)
    return table


def batch_of_plate(plate: str) -> str:
    """The batch of a plate: its name up to the replicate token `_X<n>`.

    Replicate plates of one batch differ from the token on (the replicate
    number, then the bead batch and other suffixes), so all of that goes:
    LJP005_A375_24H_X1_B19 -> LJP005_A375_24H,
    DIVR.BASE003_NCIH522_24H_X1.A2_B29 -> DIVR.BASE003_NCIH522_24H.
    A name without the token is its own batch.
    """
    plate = str(plate)
    token = _REPLICATE_TOKEN.search(plate)
    return plate[: token.start()] if token else plate


def entrez_ids_of(row_ids_or_row_meta) -> np.ndarray:
    """Entrez ids (int64) of a matrix's genes: from `pr_gene_id` row metadata when present, else the row ids."""
    if isinstance(row_ids_or_row_meta, pd.DataFrame):
        meta = row_ids_or_row_meta
        source = meta["pr_gene_id"] if "pr_gene_id" in meta.columns else pd.Series(meta.index)
    else:
        source = pd.Series(np.asarray(row_ids_or_row_meta))
    ids = pd.to_numeric(source.astype(str), errors="coerce")
    return ids.fillna(-1).astype(np.int64).to_numpy()


def row_entrez_ids(reader) -> np.ndarray:
    """Entrez ids (int64, -1 where a row has none) of an open matrix's genes, in row order.

    From `pr_gene_id` row metadata when present (the GCT fixtures key rows by
    probe id), else the row ids (GEO Level 3 GCTX rows are Entrez ids).
    """
    return entrez_ids_of(reader.row_meta)


def landmark_positions(row_ids_or_row_meta, entrez_ids, *, path=None) -> np.ndarray:
    """Positions (in the requested order) of the genes with these Entrez ids among a matrix's rows.

    `row_ids_or_row_meta` is what `entrez_ids_of` takes: a matrix's row
    metadata, or its rows' Entrez ids (`row_entrez_ids`). Raises
    MissingGenesError naming every Entrez id that is not there.
    """
    have = entrez_ids_of(row_ids_or_row_meta)
    wanted = np.asarray([int(e) for e in entrez_ids], dtype=np.int64)
    lookup = pd.Series(np.arange(len(have)), index=have)
    lookup = lookup[~lookup.index.duplicated(keep="first")]
    found = lookup.reindex(wanted)
    missing = wanted[found.isna().to_numpy()]
    if len(missing):
        shown = ", ".join(map(str, missing[:20])) + (" ..." if len(missing) > 20 else "")
        where = f"{path}: " if path else ""
        raise MissingGenesError(
            f"{where}expected the {len(wanted)} landmark genes, found {len(wanted) - len(missing)}: missing Entrez ids {shown}.",
            missing=missing.tolist(),
            path=path,
        )
    return found.to_numpy().astype(np.int64)
