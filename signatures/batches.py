"""Batches and treatment groups, from per-profile metadata.

The published LINCS pipelines compute a signature from the replicate profiles
of one treatment against the other profiles of the same batch:

- batch = ``rna_plate`` (``det_plate`` for Phase II, which the data layer puts
  in the same column) with the replicate token ``_X<n>`` removed, so that
  LJP005_A375_24H_X1_B19, _X2_B19 and _X3_B19 are one batch LJP005_A375_24H_B19;
- treatment group = the profiles of one perturbagen (pert_id) at one dose and
  one time in one cell line within a batch; only treatments (L1000 pert_type
  ``trt_*``, positive controls included) make signatures, control profiles
  (``ctl_*``) never do;
- controls = every other profile of the batch (``controls="all"``, the
  published choice) or only its vehicle/vector controls
  (``controls="vehicle"``: pert_type ``ctl_vehicle*`` or ``ctl_vector*``).

Signature ids are ``<batch>:<pert_id>:<dose>:<time>`` (dose and time as plain
numbers, ``-`` when missing), e.g. ``LJP005_A375_24H_B19:BRD-K21680192:10:24``;
when one batch holds several cell lines, ``:<cell_id>`` is appended so ids stay
unique.

Imports numpy, pandas and the Django-free L1000 format module only.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from conversion.formats.l1000 import batch_of_plate
from signatures.cd import characteristic_direction_batch
from signatures.foldchange import log2_fold_change_batch

# L1000 pert_type -> signatures.models.PertType values (kept as strings here: no Django).
PERT_TYPES = {
    "trt_xpr": "crispr",
    "trt_cp": "chemical",
    "trt_sh": "shrna",
    "trt_sh.cgs": "shrna",
    "trt_sh.css": "shrna",
    "trt_oe": "overexpression",
    "trt_oe.mut": "overexpression",
    "trt_lig": "ligand",
}
CONTROL_MODES = ("all", "vehicle")
REQUIRED_COLUMNS = ("cell_id", "pert_id", "pert_iname", "pert_type", "pert_dose", "pert_dose_unit", "pert_time", "pert_time_unit", "rna_plate")


class BatchError(ValueError):
    """Metadata that batches cannot be formed from."""


def pert_type_of(l1000_type: str, *, batch_types: list[str] | None = None) -> str:
    """Map an L1000 pert_type to a PertType value.

    Positive controls (trt_poscon) take the type of the batch's other
    treatments (a CRISPR plate's positive controls are knockouts, a compound
    plate's are compounds); anything unknown is "other".
    """
    t = str(l1000_type)
    if t in PERT_TYPES:
        return PERT_TYPES[t]
    if t.startswith("trt_sh"):
        return "shrna"
    if t == "trt_poscon" and batch_types:
        mapped = [PERT_TYPES[b] for b in batch_types if b in PERT_TYPES]
        if mapped:
            return max(set(mapped), key=mapped.count)
    return "other"


def _number(value) -> float | None:
    try:
        x = float(value)
    except (TypeError, ValueError):
        return None
    if math.isnan(x) or x == -666:
        return None
    return x


def _fmt(x: float | None) -> str:
    return "-" if x is None else f"{x:g}"


@dataclass
class Group:
    """One treatment group: the replicate profiles behind one signature."""

    sig_id: str
    batch: str
    pert_id: str
    pert_name: str
    pert_type: str  # PertType value
    cell_id: str
    dose: float | None
    dose_unit: str
    time: float | None
    time_unit: str
    positions: np.ndarray  # int64: column positions in the dataset matrix


@dataclass
class Batch:
    name: str
    positions: np.ndarray  # int64: every profile of the batch, in matrix column order
    groups: list[Group] = field(default_factory=list)
    control_positions: np.ndarray | None = None  # vehicle controls, or None for "all other profiles"

    def n_controls(self, group: Group) -> int:
        if self.control_positions is not None:
            return len(self.control_positions)
        return len(self.positions) - len(group.positions)


@dataclass
class BatchPlan:
    batches: list[Batch]
    skipped_groups: int = 0  # groups with fewer replicates than asked
    skipped_batches: int = 0  # batches with no computable group (too small, no controls)
    skipped_profiles: int = 0  # profiles without a plate
    notes: list[str] = field(default_factory=list)

    @property
    def n_signatures(self) -> int:
        return sum(len(b.groups) for b in self.batches)


def plan_batches(metadata: pd.DataFrame, *, controls: str = "all", min_replicates: int = 2) -> BatchPlan:
    """Batches and their treatment groups; rows of `metadata` are the matrix columns in order."""
    if controls not in CONTROL_MODES:
        raise BatchError(f"controls must be one of {', '.join(CONTROL_MODES)}, found {controls!r}.")
    if min_replicates < 1:
        raise BatchError(f"min_replicates must be at least 1, found {min_replicates}.")
    missing = [c for c in REQUIRED_COLUMNS if c not in metadata.columns]
    if missing:
        raise BatchError(f"profile metadata must have columns {', '.join(REQUIRED_COLUMNS)}; missing {', '.join(missing)}.")

    meta = metadata.reset_index(drop=True).copy()
    meta["_pos"] = np.arange(len(meta), dtype=np.int64)
    plate = meta["rna_plate"].fillna("").astype(str).str.strip()
    has_plate = (plate != "") & (plate.str.lower() != "nan") & (plate != "-666")
    plan = BatchPlan(batches=[], skipped_profiles=int((~has_plate).sum()))
    meta = meta[has_plate]
    meta["_batch"] = plate[has_plate].map(batch_of_plate)
    pert_type = meta["pert_type"].fillna("").astype(str)
    meta["_is_trt"] = pert_type.str.startswith("trt_")
    meta["_is_vehicle"] = pert_type.str.startswith("ctl_vehicle") | pert_type.str.startswith("ctl_vector")
    meta["_dose"] = meta["pert_dose"].map(_number)
    meta["_time"] = meta["pert_time"].map(_number)

    for name, rows in meta.groupby("_batch", sort=True):
        batch = Batch(name=str(name), positions=rows["_pos"].to_numpy())
        if controls == "vehicle":
            batch.control_positions = rows.loc[rows["_is_vehicle"], "_pos"].to_numpy()
        trt = rows[rows["_is_trt"]]
        batch_types = trt["pert_type"].astype(str).tolist()
        keys = ["pert_id", "_dose_key", "pert_dose_unit", "_time_key", "pert_time_unit", "cell_id"]
        trt = trt.assign(_dose_key=trt["_dose"].map(_fmt), _time_key=trt["_time"].map(_fmt))
        several_cells = trt["cell_id"].nunique() > 1
        for _, g in trt.groupby(keys, sort=True, dropna=False):
            if len(g) < min_replicates:
                plan.skipped_groups += 1
                continue
            first = g.iloc[0]
            sig_id = f"{name}:{first['pert_id']}:{first['_dose_key']}:{first['_time_key']}"
            if several_cells:
                sig_id += f":{first['cell_id']}"
            batch.groups.append(
                Group(
                    sig_id=sig_id,
                    batch=str(name),
                    pert_id=str(first["pert_id"]),
                    pert_name=str(first["pert_iname"]) if pd.notna(first["pert_iname"]) else str(first["pert_id"]),
                    pert_type=pert_type_of(first["pert_type"], batch_types=batch_types),
                    cell_id=str(first["cell_id"]),
                    dose=_number(first["_dose"]),
                    dose_unit=_unit(first["pert_dose_unit"]),
                    time=_number(first["_time"]),
                    time_unit=_unit(first["pert_time_unit"]),
                    positions=g["_pos"].to_numpy(),
                )
            )
        reason = _uncomputable(batch)
        if reason:
            plan.skipped_batches += 1
            plan.skipped_groups += len(batch.groups)
            plan.notes.append(f"batch {name} skipped: {reason}")
            continue
        plan.batches.append(batch)
    _check_unique_ids(plan)
    return plan


def _unit(value) -> str:
    return "" if value is None or (isinstance(value, float) and math.isnan(value)) or str(value) == "-666" else str(value)


def _uncomputable(batch: Batch) -> str:
    """Why no signature can be computed in this batch, or "" if it can."""
    if not batch.groups:
        return "no treatment group with enough replicates"
    if batch.control_positions is not None:
        if len(batch.control_positions) == 0:
            return "no vehicle or vector controls"
        if min(len(g.positions) for g in batch.groups) + len(batch.control_positions) < 3:
            return "fewer than 3 profiles per signature (the characteristic direction needs n - 2 > 0)"
        return ""
    if len(batch.positions) < 3:
        return f"{len(batch.positions)} profiles; at least 3 are needed"
    if any(len(g.positions) == len(batch.positions) for g in batch.groups):
        return "one treatment fills the whole batch, leaving no controls"
    return ""


def _check_unique_ids(plan: BatchPlan) -> None:
    ids = [g.sig_id for b in plan.batches for g in b.groups]
    if len(set(ids)) != len(ids):
        seen, dup = set(), []
        for i in ids:
            if i in seen:
                dup.append(i)
            seen.add(i)
        raise BatchError(f"signature ids must be unique, found duplicates such as {dup[:3]}; check pert_dose/pert_time units in the metadata.")


def compute_batch(X: np.ndarray, batch: Batch, *, gamma: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """CD and log2FC of every group of one batch.

    X: (len(batch.positions), n_genes), the batch's profiles in the order of
    batch.positions. Returns cd, logfc, each (len(batch.groups), n_genes) float32.
    """
    local = {int(p): i for i, p in enumerate(batch.positions)}  # matrix column -> row of X
    groups = [np.array([local[int(p)] for p in g.positions]) for g in batch.groups]
    controls = None if batch.control_positions is None else np.array([local[int(p)] for p in batch.control_positions])
    cd = characteristic_direction_batch(X, groups, controls=controls, gamma=gamma)
    logfc = log2_fold_change_batch(X, groups, controls=controls)
    return cd, logfc


def batch_to_dict(batch: Batch) -> dict:
    """JSON-safe form of a batch, stored with its job so a batch task need not re-plan the dataset."""
    return {
        "name": batch.name,
        "positions": batch.positions.tolist(),
        "control_positions": None if batch.control_positions is None else batch.control_positions.tolist(),
        "groups": [{**{k: v for k, v in g.__dict__.items() if k != "positions"}, "positions": g.positions.tolist()} for g in batch.groups],
    }


def batch_from_dict(data: dict) -> Batch:
    controls = data.get("control_positions")
    return Batch(
        name=data["name"],
        positions=np.asarray(data["positions"], dtype=np.int64),
        control_positions=None if controls is None else np.asarray(controls, dtype=np.int64),
        groups=[Group(**{**g, "positions": np.asarray(g["positions"], dtype=np.int64)}) for g in data["groups"]],
    )
