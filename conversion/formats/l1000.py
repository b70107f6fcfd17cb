"""L1000 companion tables (GEO inst_info and gene_info; the LINCS 2020 "beta"
release's instinfo_beta, geneinfo_beta and compoundinfo_beta) and landmark selection.

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
# `rna_plate` is `det_plate` for LINCS Phase II files and where the 2020 instinfo leaves
# it empty (_DETECTION_FIELDS). The last four were
# added for the 2020 release (tables written before lack them: load_metadata fills NaN):
# `qc_pass` "1"/"0" (None where the release has no QC flag, as GEO's), `target_gene` the
# symbol of the gene a genetic perturbation is aimed at, `pert_targets` and `pert_moa`
# a compound's targets and mechanisms of action, "|"-joined (read_compound_info).
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
    "qc_pass",
    "target_gene",
    "pert_targets",
    "pert_moa",
]

# Phase II (GSE70138), LINCS 2020 and embedded-GCTX spellings of the same fields;
# where a table has two spellings of one field, the first listed is used.
_ALIASES = {
    "sample_id": "inst_id",
    "id": "inst_id",
    "cell_iname": "cell_id",
    "cmap_name": "pert_iname",
}

# The detection plate and well. Phase II tables have only det_*; the 2020 instinfo and
# Phase II GCTX column metadata have both. There det_plate is the profile's plate (its
# sample_id is `<det_plate>:<det_well>`) and rna_plate is often empty; where rna_plate
# has a value it is det_plate without the bead batch (LJP005_A375_24H_X1 for
# LJP005_A375_24H_X1_B19), which is the same batch (batch_of_plate), and it is kept, as
# it always was. So det_* fills only the rows where rna_* is missing.
_DETECTION_FIELDS = (("det_plate", "rna_plate"), ("det_well", "rna_well"))

# L1000 pert_type prefixes of perturbations aimed at one gene (trt_sh.cgs, trt_oe.mut, ...);
# their pert_iname (the 2020 release's cmap_name) is the gene's symbol.
GENETIC_PERT_TYPES = ("trt_xpr", "trt_sh", "trt_oe")

# LINCS 2020 geneinfo_beta names -> the GEO gene_info names used everywhere.
_BETA_GENE_COLUMNS = {"gene_id": "pr_gene_id", "gene_symbol": "pr_gene_symbol", "gene_title": "pr_gene_title"}
# geneinfo_beta feature_space: measured (landmark) or inferred, the "best inferred"
# ones being GEO's BING genes (pr_is_bing: landmark or well inferred).
FEATURE_SPACES = ("landmark", "best inferred", "inferred")

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
    """GEO `inst_info` (Phase I), `instinfo` (Phase II) or LINCS 2020 `instinfo_beta`: one row per profile, normalised to PROFILE_COLUMNS.

    `inst_ids` (e.g. a matrix's column ids) keeps only those profiles while streaming.
    """
    return normalise_profile_metadata(read_table(path, what="inst_info", keep_ids=inst_ids), path=path)


def normalise_profile_metadata(meta: pd.DataFrame, *, path="metadata", ids=None) -> pd.DataFrame:
    """Rename Phase II / 2020 / embedded fields to our names and keep PROFILE_COLUMNS (extra columns are dropped).

    `ids` (the matrix's column ids) fill `inst_id` when the table is indexed by
    them, as a GCTX's own column metadata is. Genetic perturbations without a
    `target_gene` get their pert_iname, which names the gene. Normalising a
    normalised table changes nothing.
    """
    meta = _our_names(meta)
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
            out[column] = values.astype(str).astype(object).where(~_is_missing(values), None)
    for column in ("pert_dose_unit", "pert_time_unit"):
        out[column] = out[column].map(normalise_unit).astype(object)
    out["pert_dose"] = pd.to_numeric(out["pert_dose"], errors="coerce").astype(float)
    out["pert_time"] = pd.to_numeric(out["pert_time"], errors="coerce").astype(float)
    out.loc[out["pert_dose"] == -666, "pert_dose"] = np.nan
    out.loc[out["pert_time"] == -666, "pert_time"] = np.nan
    genetic = out["pert_type"].fillna("").str.startswith(GENETIC_PERT_TYPES)
    out["target_gene"] = out["target_gene"].where(out["target_gene"].notna() | ~genetic, out["pert_iname"])
    out["qc_pass"] = _qc_flags(out["qc_pass"], path=path)
    return out


def _our_names(meta: pd.DataFrame) -> pd.DataFrame:
    """A copy of `meta` with the fields of _ALIASES and _DETECTION_FIELDS under our names."""
    meta = meta.copy()
    for src, dst in _ALIASES.items():
        if src in meta.columns and dst not in meta.columns:
            meta = meta.rename(columns={src: dst})
    for det, ours in _DETECTION_FIELDS:
        if det not in meta.columns:
            continue
        if ours not in meta.columns:
            meta = meta.rename(columns={det: ours})
        else:
            meta[ours] = meta[ours].astype(object).where(~_is_missing(meta[ours]), meta[det].astype(object))
    return meta


def _is_missing(values: pd.Series) -> pd.Series:
    values = values.astype(object)
    return values.isna() | values.astype(str).isin(_MISSING)


def _qc_flags(values: pd.Series, *, path) -> pd.Series:
    """qc_pass as text "1" (passed) or "0" (failed), None where missing; 1.0 and 0.0 are read as 1 and 0."""
    numbers = pd.to_numeric(values, errors="coerce")
    bad = values.notna() & ~numbers.isin([0, 1])
    if bad.any():
        raise FormatError(f"{path}: expected qc_pass 1 or 0, found {values[bad].iloc[0]!r}.", path=path)
    return numbers.map({1: "1", 0: "0"}).astype(object).where(values.notna(), None)


def _require_columns(table: pd.DataFrame, columns, *, what: str, path) -> None:
    for column in columns:
        if column not in table.columns:
            raise FormatError(
                f"{what} file {path}: expected a {column} column, found columns {', '.join(map(str, table.columns[:12]))}.", path=path
            )


def read_gene_info(path) -> pd.DataFrame:
    """GEO `gene_info` or LINCS 2020 `geneinfo_beta`: pr_gene_id (Entrez, int), pr_gene_symbol, pr_gene_title, pr_is_lm, pr_is_bing.

    A geneinfo_beta (gene_id, gene_symbol, gene_title, feature_space, ...) is
    given the GEO names: pr_is_lm = feature_space "landmark", pr_is_bing =
    "landmark" or "best inferred"; its other columns (ensembl_id, gene_type,
    src, feature_space) are kept.
    """
    table = read_table(path, what="gene_info")
    if "pr_gene_id" not in table.columns and {"gene_id", "feature_space"} & set(table.columns):
        table = _beta_gene_info(table, path=path)
    if "pr_is_lmark" in table.columns and "pr_is_lm" not in table.columns:
        table = table.rename(columns={"pr_is_lmark": "pr_is_lm"})  # older CMap spelling
    _require_columns(table, ("pr_gene_id", "pr_gene_symbol", "pr_is_lm"), what="gene_info", path=path)
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


def _beta_gene_info(table: pd.DataFrame, *, path) -> pd.DataFrame:
    _require_columns(table, ("gene_id", "gene_symbol", "feature_space"), what="geneinfo_beta", path=path)
    space = table["feature_space"].astype(object).map(lambda v: None if pd.isna(v) else str(v).strip().lower())
    unknown = ~space.isin(FEATURE_SPACES)
    if unknown.any():
        row = table[unknown].iloc[0]
        raise FormatError(
            f"geneinfo_beta file {path}: expected feature_space {', '.join(FEATURE_SPACES[:-1])} or {FEATURE_SPACES[-1]}, "
            f"found {row['feature_space']!r} for gene_id {row['gene_id']}.",
            path=path,
        )
    table = table.rename(columns=_BETA_GENE_COLUMNS)
    table["pr_is_lm"] = (space == "landmark").astype(int)
    table["pr_is_bing"] = space.isin(("landmark", "best inferred")).astype(int)
    return table


def read_compound_info(path) -> pd.DataFrame:
    """LINCS 2020 `compoundinfo_beta` (one row per compound and target): one row per pert_id.

    Columns: pert_id; pert_targets, the compound's targets sorted and
    "|"-joined; pert_moa, its mechanisms of action in file order, "|"-joined
    (None where the table names none); and the first cmap_name, inchi_key and
    canonical_smiles where the table has them.
    """
    table = read_table(path, what="compoundinfo")
    _require_columns(table, ("pert_id", "target", "moa"), what="compoundinfo", path=path)
    table = table[table["pert_id"].notna()]
    by_compound = table.groupby("pert_id", sort=True)
    out = pd.DataFrame(
        {
            "pert_targets": by_compound["target"].agg(lambda v: _joined(sorted(set(v.dropna().str.strip())))),
            "pert_moa": by_compound["moa"].agg(lambda v: _joined(dict.fromkeys(v.dropna().str.strip()))),
        }
    )
    for column in ("cmap_name", "inchi_key", "canonical_smiles"):
        if column in table.columns:
            out[column] = by_compound[column].first()
    return out.reset_index().astype(object).where(lambda t: t.notna(), None)


def _joined(values) -> str | None:
    values = [v for v in values if v]
    return "|".join(values) if values else None


def annotate_compounds(meta: pd.DataFrame, compounds: pd.DataFrame) -> pd.DataFrame:
    """Normalised profile metadata with pert_targets and pert_moa from `read_compound_info` rows of the same pert_id.

    The compound table's value wins; a profile whose compound it does not
    annotate keeps what it had.
    """
    out = meta.copy()
    by_id = compounds.set_index("pert_id")
    for column in ("pert_targets", "pert_moa"):
        found = out["pert_id"].map(by_id[column]).astype(object)
        out[column] = found.where(found.notna(), out[column].astype(object))
    return out


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
