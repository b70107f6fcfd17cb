"""Batches and treatment groups, from per-profile metadata.

The published LINCS pipelines compute a signature from the replicate profiles
of one treatment against the other profiles of the same batch:

- batch = ``rna_plate`` (``det_plate`` for Phase II, which the data layer puts
  in the same column) up to the replicate token ``_X<n>``
  (``conversion.formats.l1000.batch_of_plate``), so that LJP005_A375_24H_X1_B19,
  _X2_B19 and _X3_B19 are one batch LJP005_A375_24H, and one cell line: a plate
  that holds two cell lines makes two batches, ``<batch>:<cell_id>``;
- treatment group = the profiles of one perturbagen (pert_id) at one dose and
  one time in one cell line within a batch; only treatments (L1000 pert_type
  ``trt_*``, positive controls included) make signatures, control profiles
  (``ctl_*``) never do;
- controls = (``controls="all"``, the reference pipeline's choice) every
  profile of the batch except those of the same perturbagen (the same pert_id
  at any dose or time) and, for genetic perturbations, those aimed at the same
  target gene (sibling sgRNAs or hairpins: the ``target_gene`` column where the
  metadata has one, else ``pert_iname``, which names the gene in the GEO
  releases), so each group has its own controls (``Group.controls``); or only
  the batch's vehicle/vector controls (``controls="vehicle"``: pert_type
  ``ctl_vehicle*`` or ``ctl_vector*``), shared by every group; ``"auto"`` (the
  default) picks vehicle controls for a batch with at least AUTO_MIN_VEHICLES of
  them and ``all`` otherwise, and records the choice (``Batch.controls``).

Signature ids are ``<batch>:<pert_id>:<dose>:<time>`` (dose and time as plain
numbers, ``-`` when missing), e.g. ``LJP005_A375_24H_B19:BRD-K21680192:10:24``;
when one plate batch holds several cell lines, ``:<cell_id>`` is appended so
ids stay unique.

Imports numpy, pandas and the Django-free L1000 format module only.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from conversion.formats.l1000 import GENETIC_PERT_TYPES, batch_of_plate
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
CONTROL_MODES = ("auto", "all", "vehicle")
DEFAULT_CONTROLS = "auto"
# "auto": a batch with at least this many vehicle/vector profiles uses them as its controls, one with
# fewer uses "all". On the real fixture plate vehicle controls put 22 MEK/BRAF inhibitors in the 50
# top-10 places of five MAPK output genes by CD against 13 with "all" (bench/bench_control_modes.py);
# six is two per replicate plate of a three-plate batch, below which the control mean rests on too few wells.
AUTO_MIN_VEHICLES = 6
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
    """A dose or time in a signature id; a missing one (None, or NaN in a float column) is "-"."""
    return "-" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:g}"


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
    controls: np.ndarray | None = None  # int64: its own control positions ("all" mode); None: the batch's vehicle controls
    target_gene: str = ""  # genetic perturbations: the targeted gene's symbol (genetic_targets)
    pert_targets: str = ""  # compounds: their targets, "|"-joined, where the metadata has them
    pert_moa: str = ""  # compounds: mechanisms of action, "|"-joined


@dataclass
class Batch:
    name: str
    positions: np.ndarray  # int64: every profile of the batch, in matrix column order
    groups: list[Group] = field(default_factory=list)
    control_positions: np.ndarray | None = None  # vehicle controls shared by every group, or None: each group's own
    controls: str = "all"  # the control mode this batch used ("all" or "vehicle")

    def controls_of(self, group: Group) -> np.ndarray:
        return self.control_positions if self.control_positions is not None else group.controls

    def n_controls(self, group: Group) -> int:
        return len(self.controls_of(group))


@dataclass
class BatchPlan:
    batches: list[Batch]
    skipped_groups: int = 0  # groups with fewer replicates than asked
    skipped_batches: int = 0  # batches with no computable group (too small, no controls)
    skipped_profiles: int = 0  # profiles without a plate
    skipped_qc_failed: int = 0  # profiles that failed the release's QC (qc_pass "0"), left out of groups and controls
    skipped_no_controls: int = 0  # groups with no profile left to compare with (all of the batch is the same perturbagen)
    notes: list[str] = field(default_factory=list)

    @property
    def n_signatures(self) -> int:
        return sum(len(b.groups) for b in self.batches)


def plan_batches(metadata: pd.DataFrame, *, controls: str = DEFAULT_CONTROLS, min_replicates: int = 2, keep_qc_failed: bool = False) -> BatchPlan:
    """Batches and their treatment groups; rows of `metadata` are the matrix columns in order.

    Profiles that failed the release's QC (qc_pass 0, LINCS 2020) are left out
    of every group and every control set unless `keep_qc_failed`; a missing
    qc_pass (the GEO releases have none) counts as passed.
    """
    if controls not in CONTROL_MODES:
        raise BatchError(f"controls must be one of {', '.join(CONTROL_MODES)}, found {controls!r}.")
    if min_replicates < 1:
        raise BatchError(f"min_replicates must be at least 1, found {min_replicates}.")
    missing = [c for c in REQUIRED_COLUMNS if c not in metadata.columns]
    if missing:
        raise BatchError(f"profile metadata must have columns {', '.join(REQUIRED_COLUMNS)}; missing {', '.join(missing)}.")

    meta = metadata.reset_index(drop=True).copy()
    meta["_pos"] = np.arange(len(meta), dtype=np.int64)
    plan = BatchPlan(batches=[])
    if "qc_pass" in meta.columns and not keep_qc_failed:
        failed = pd.to_numeric(meta["qc_pass"], errors="coerce") == 0
        plan.skipped_qc_failed = int(failed.sum())
        if plan.skipped_qc_failed:
            plan.notes.append(f"{plan.skipped_qc_failed} profiles failed QC (qc_pass 0) and were left out; keep_qc_failed keeps them.")
        meta = meta[~failed]
    plate = meta["rna_plate"].fillna("").astype(str).str.strip()
    has_plate = (plate != "") & (plate.str.lower() != "nan") & (plate != "-666")
    plan.skipped_profiles = int((~has_plate).sum())
    meta = meta[has_plate]
    meta["_batch"] = plate[has_plate].map(batch_of_plate)
    pert_type = meta["pert_type"].fillna("").astype(str)
    meta["_is_trt"] = pert_type.str.startswith("trt_")
    meta["_is_vehicle"] = pert_type.str.startswith("ctl_vehicle") | pert_type.str.startswith("ctl_vector")
    meta["_dose"] = meta["pert_dose"].map(_number)
    meta["_time"] = meta["pert_time"].map(_number)
    meta["_target"] = genetic_targets(meta)
    cell = meta["cell_id"].astype(object).where(meta["cell_id"].notna(), "")
    meta["_cell"] = cell.astype(str)
    trt_cells = meta[meta["_is_trt"]].groupby("_batch")["_cell"].nunique()
    several_cells = set(trt_cells[trt_cells > 1].index)

    for (plate_batch, cell_id), rows in meta.groupby(["_batch", "_cell"], sort=True):
        name = f"{plate_batch}:{cell_id}" if plate_batch in several_cells else str(plate_batch)
        mode = controls
        if mode == "auto":
            mode = "vehicle" if int(rows["_is_vehicle"].sum()) >= AUTO_MIN_VEHICLES else "all"
        batch = Batch(name=name, positions=rows["_pos"].to_numpy(), controls=mode)
        if mode == "vehicle":
            batch.control_positions = rows.loc[rows["_is_vehicle"], "_pos"].to_numpy()
        trt = rows[rows["_is_trt"]]
        batch_types = trt["pert_type"].astype(str).tolist()
        keys = ["pert_id", "_dose_key", "pert_dose_unit", "_time_key", "pert_time_unit"]
        trt = trt.assign(_dose_key=trt["_dose"].map(_fmt), _time_key=trt["_time"].map(_fmt))
        for _, g in trt.groupby(keys, sort=True, dropna=False):
            if len(g) < min_replicates:
                plan.skipped_groups += 1
                continue
            first = g.iloc[0]
            own_controls = None
            if mode == "all":
                own_controls = _controls_in_all_mode(rows, first)
                if len(own_controls) == 0 or len(g) + len(own_controls) < 3:
                    plan.skipped_no_controls += 1
                    plan.skipped_groups += 1
                    continue
            sig_id = f"{plate_batch}:{first['pert_id']}:{first['_dose_key']}:{first['_time_key']}"
            if plate_batch in several_cells:
                sig_id += f":{cell_id}"
            batch.groups.append(
                Group(
                    sig_id=sig_id,
                    batch=name,
                    pert_id=str(first["pert_id"]),
                    pert_name=str(first["pert_iname"]) if pd.notna(first["pert_iname"]) else str(first["pert_id"]),
                    pert_type=pert_type_of(first["pert_type"], batch_types=batch_types),
                    cell_id=str(first["cell_id"]),
                    dose=_number(first["_dose"]),
                    dose_unit=_unit(first["pert_dose_unit"]),
                    time=_number(first["_time"]),
                    time_unit=_unit(first["pert_time_unit"]),
                    positions=g["_pos"].to_numpy(),
                    controls=own_controls,
                    target_gene=_text(first["_target"]),
                    pert_targets=_text(first.get("pert_targets")),
                    pert_moa=_text(first.get("pert_moa")),
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


def genetic_targets(meta: pd.DataFrame) -> pd.Series:
    """The gene each profile's perturbation is aimed at (genetic pert_types only; None elsewhere).

    The `target_gene` column where the metadata has one (the LINCS 2020 release
    names the gene in cmap_name), else `pert_iname`, which is the gene's symbol
    for the GEO releases' knockdowns, knockouts and overexpressions.
    """
    genetic = meta["pert_type"].fillna("").astype(str).str.startswith(GENETIC_PERT_TYPES)
    named = meta["target_gene"] if "target_gene" in meta.columns else pd.Series(None, index=meta.index, dtype=object)
    target = named.astype(object).where(named.notna(), meta["pert_iname"].astype(object))
    return target.where(genetic, None).map(lambda t: _text(t).strip().upper() or None)


def _controls_in_all_mode(rows: pd.DataFrame, first: pd.Series) -> np.ndarray:
    """Positions of the batch rows a group is compared with: not its perturbagen, not its target gene."""
    same = rows["pert_id"].astype(str).to_numpy() == str(first["pert_id"])
    if pd.notna(first["_target"]):
        same |= (rows["_target"] == first["_target"]).to_numpy()
    return rows["_pos"].to_numpy()[~same]


def _text(value) -> str:
    """A metadata cell as text, "" when missing."""
    return "" if value is None or (isinstance(value, float) and math.isnan(value)) else str(value)


def _unit(value) -> str:
    return "" if value is None or (isinstance(value, float) and math.isnan(value)) or str(value) == "-666" else str(value)


def _uncomputable(batch: Batch) -> str:
    """Why no signature can be computed in this batch, or "" if it can."""
    if not batch.groups:
        return "no treatment group with enough replicates and profiles to compare with"
    if batch.control_positions is not None:
        if len(batch.control_positions) == 0:
            return "no vehicle or vector controls"
        if min(len(g.positions) for g in batch.groups) + len(batch.control_positions) < 3:
            return "fewer than 3 profiles per signature (the characteristic direction needs n - 2 > 0)"
        return ""
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

    def rows(positions):
        return np.array([local[int(p)] for p in positions], dtype=np.int64)

    groups = [rows(g.positions) for g in batch.groups]
    if batch.control_positions is not None:
        controls = rows(batch.control_positions)
        return characteristic_direction_batch(X, groups, controls=controls, gamma=gamma), log2_fold_change_batch(X, groups, controls=controls)
    own = [rows(g.controls) for g in batch.groups]
    return characteristic_direction_batch(X, groups, group_controls=own, gamma=gamma), log2_fold_change_batch(X, groups, group_controls=own)


def batch_to_dict(batch: Batch) -> dict:
    """JSON-safe form of a batch, stored with its job so a batch task need not re-plan the dataset."""
    return {
        "name": batch.name,
        "controls": batch.controls,
        "positions": batch.positions.tolist(),
        "control_positions": None if batch.control_positions is None else batch.control_positions.tolist(),
        "groups": [
            {**{k: v for k, v in g.__dict__.items() if k not in ("positions", "controls")}, "positions": g.positions.tolist(),
             "controls": None if g.controls is None else g.controls.tolist()}
            for g in batch.groups
        ],
    }


def batch_from_dict(data: dict) -> Batch:
    """The batch batch_to_dict wrote; a plan written before groups had their own controls keeps its rule (every other profile)."""
    controls = data.get("control_positions")
    positions = np.asarray(data["positions"], dtype=np.int64)

    def own(g):
        if g.get("controls") is not None:
            return np.asarray(g["controls"], dtype=np.int64)
        return None if controls is not None else np.setdiff1d(positions, np.asarray(g["positions"], dtype=np.int64))

    return Batch(
        name=data["name"],
        controls=data.get("controls", "all" if controls is None else "vehicle"),
        positions=positions,
        control_positions=None if controls is None else np.asarray(controls, dtype=np.int64),
        groups=[
            Group(**{**g, "positions": np.asarray(g["positions"], dtype=np.int64), "controls": own(g)})
            for g in data["groups"]
        ],
    )
