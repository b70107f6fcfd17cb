"""Registering matrices of profiles as `Dataset` rows with a normalised metadata table.

Every dataset (L1000 Level 3, RNA-seq-like output of a translator) gets one
per-profile metadata TSV under DATA_DIR with the columns of
`conversion.formats.l1000.PROFILE_COLUMNS`, rows in matrix column order, so
that signatures and search never need to know where the metadata came from
(GEO inst_info, Phase II instinfo, or a GCTX's own column metadata).
"""

from __future__ import annotations

import filecmp
from pathlib import Path

import numpy as np
import pandas as pd
from django.conf import settings
from django.db import transaction

from conversion.files import atomic_path
from conversion.formats import open_matrix
from conversion.formats.errors import FormatError
from conversion.formats.l1000 import PROFILE_COLUMNS, normalise_profile_metadata
from conversion.formats.multi import SUFFIX, MultiReader, is_manifest, manifest_text, member_paths, read_manifest
from conversion.models import Dataset
from l1kweb.paths import PathNotAllowed, allowed_path, stored_data_path

METADATA_DIR = "metadata"
MANIFEST_DIR = "datasets"  # the manifests of datasets made of several Level 3 files


def manifest_path(name: str) -> Path:
    """Where the manifest of the multi-file dataset `name` is written: DATA_DIR/datasets/<name>.l1kset.json."""
    return Path(settings.DATA_DIR) / MANIFEST_DIR / f"{name}{SUFFIX}"


def register_dataset(
    name, path, *, kind, metadata: pd.DataFrame | None, source=None, translator=None, description="", manifest: dict | None = None
) -> Dataset:
    """Create or update the Dataset `name` for the matrix at `path` and write its metadata TSV.

    `metadata` may cover more profiles than the matrix (a whole GEO inst_info)
    and in any order: it is matched to the matrix columns by inst_id. With
    `metadata=None` the file's own column metadata is used. Raises FormatError
    (and writes nothing) when a matrix column has no metadata row.

    With `manifest` (conversion.formats.multi.manifest_for) the dataset is
    made of the manifest's member files and `path` is where the manifest
    goes: the members are read through it from memory, and the file is
    written, atomically, only together with the row, so a refusal leaves no
    manifest (and an earlier one as it was). A manifest handed in as a file
    (the admin's form) may name only files the application may read
    (l1kweb.paths.allowed_path), checked before any member is opened.
    """
    path = Path(path)
    if manifest is None and is_manifest(path):
        _check_members_allowed(path)
    with MultiReader(manifest, path=path) if manifest is not None else open_matrix(path) as reader:
        col_ids = np.asarray(reader.col_ids, dtype=str)
        n_profiles, n_genes = reader.shape
        if metadata is None:
            metadata = normalise_profile_metadata(reader.col_meta.reset_index(drop=True), path=path, ids=col_ids)
            metadata["inst_id"] = col_ids
        else:
            metadata = normalise_profile_metadata(metadata, path="metadata")
    table = _in_column_order(metadata, col_ids, path=path)

    meta_rel = Path(METADATA_DIR) / f"{name}.tsv"
    meta_abs = Path(settings.DATA_DIR) / meta_rel
    meta_abs.parent.mkdir(parents=True, exist_ok=True)
    metadata_file = atomic_path(meta_abs)
    manifest_file = None
    if manifest is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        manifest_file = atomic_path(path)
    try:
        table.to_csv(metadata_file.tmp, sep="\t", index=False, na_rep="")
        if manifest_file is not None:
            manifest_file.tmp.write_text(manifest_text(manifest))
        existing = Dataset.objects.filter(name=name).first()
        refused = existing.repointing_refused() if existing is not None else None
        if refused is not None:
            # Registering the same file and metadata again changes nothing; anything else is refused.
            same = (existing.path, existing.n_profiles, existing.n_genes) == (stored_data_path(path), n_profiles, n_genes) and (
                existing.metadata_file is not None and existing.metadata_file.exists() and filecmp.cmp(existing.metadata_file, metadata_file.tmp, shallow=False)
            ) and (manifest_file is None or (path.exists() and filecmp.cmp(path, manifest_file.tmp, shallow=False)))
            if not same:
                raise refused
            metadata_file.discard()
            if manifest_file is not None:
                manifest_file.discard()
            return existing
        with transaction.atomic():
            dataset, _ = Dataset.objects.update_or_create(
                name=name,
                defaults={
                    "kind": kind,
                    "path": stored_data_path(path),
                    "metadata_path": str(meta_rel),
                    "n_profiles": n_profiles,
                    "n_genes": n_genes,
                    "source": source,
                    "translator": translator,
                    "description": description,
                },
            )
            # Renamed inside the transaction: a failed rename rolls the row back.
            metadata_file.commit()
            if manifest_file is not None:
                manifest_file.commit()
    except BaseException:
        metadata_file.discard()
        if manifest_file is not None:
            manifest_file.discard()
        raise
    return dataset


def allowed_matrix_path(path) -> Path:
    """allowed_path for a matrix a job will read: a dataset manifest's members must be allowed too."""
    resolved = allowed_path(path)
    if is_manifest(resolved):
        _check_members_allowed(resolved)
    return resolved


def _check_members_allowed(path: Path) -> None:
    # The members are refused with allowed_path's sentence, the same whether they exist or not.
    for member in member_paths(read_manifest(path), path=path):
        try:
            allowed_path(member)
        except PathNotAllowed as exc:
            raise FormatError(f"Dataset manifest {path}: {exc}", path=path) from None


def load_metadata(dataset: Dataset) -> pd.DataFrame:
    """The dataset's per-profile metadata (PROFILE_COLUMNS), rows in matrix column order; missing = NaN.

    A table written before a column joined PROFILE_COLUMNS (qc_pass,
    target_gene, pert_targets, pert_moa) reads with that column all NaN.
    """
    path = dataset.metadata_file
    if path is None or not path.exists():
        raise FormatError(f"Dataset {dataset.name}: expected a metadata table at {path}, found none.", path=path)
    text = {c: str for c in PROFILE_COLUMNS if c not in ("pert_dose", "pert_time")}
    table = pd.read_csv(path, sep="\t", dtype=text, keep_default_na=False, na_values={"pert_dose": [""], "pert_time": [""]})
    table = table.reindex(columns=PROFILE_COLUMNS)
    for column in text:
        table[column] = table[column].replace("", np.nan)
    return table


def _in_column_order(metadata: pd.DataFrame, col_ids: np.ndarray, *, path) -> pd.DataFrame:
    ids = metadata["inst_id"].astype(str)
    if ids.duplicated().any():
        dup = ids[ids.duplicated()].iloc[0]
        raise FormatError(f"Metadata for {path}: expected one row per inst_id, found {dup!s} more than once.", path=path)
    position = pd.Series(np.arange(len(ids)), index=ids.to_numpy())
    found = position.reindex(col_ids)
    missing = col_ids[found.isna().to_numpy()]
    if len(missing):
        shown = ", ".join(map(str, missing[:5])) + (" ..." if len(missing) > 5 else "")
        raise FormatError(
            f"Metadata for {path}: expected a row for each of the {len(col_ids)} matrix columns, found {len(missing)} without one ({shown}).",
            path=path,
        )
    return metadata.iloc[found.to_numpy().astype(np.int64)].reset_index(drop=True)[PROFILE_COLUMNS]

