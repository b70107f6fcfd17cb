"""A synthetic world in the real file formats, with known answers.

One generative model drives every file, so the translator has something to
learn and the signature search has something to find:

    x[s, g] = base[cell(s), g] + (z[s] + shift(s)) @ W[:, g] + plate[s, g] + knockdown(s, g) + noise

- `W` (K programs x genes): sparse gene programs shared by all genes, so the
  landmark genes carry information about every other gene (what the
  extrapolator of step 2 learns);
- `base` per cell line: different baselines, themselves built from programs;
- `z` per sample: biological variation, `shift` the planted perturbation effect
  (a chemical or a knockout moves one or two programs; the effect scales with
  dose by a Hill curve and with time);
- L1000 values are not RNA-seq values: the L1000 platform sees
  `offset_g + scale_g * 10 * tanh(x / 10)` plus more noise (a saturating,
  per-gene distortion that step 1's CycleGAN has to undo).

Files written (all paths in the returned manifest, also saved as manifest.json):
`l1000` (Level 3 GCTX, rows = landmark + inferred genes keyed by Entrez id in
shuffled order, with pr_gene_id/pr_gene_symbol/pr_is_lm row metadata),
`inst_info`, `gene_info` (CMap-style, with a few outdated symbols),
`ncbi_gene_info` (NCBI Homo_sapiens.gene_info with synonyms and previous
symbols), `archs4` (ARCHS4-style HDF5 counts), `gtex_l1000` and `gtex_rnaseq`
(paired GCTX over the same samples, in different orders), `truth` (planted
effects), and beside them `tf_targets.gmt` (TF_TARGETS_FILE, not in the
manifest, whose keys are pinned): each knocked-out gene's planted target set,
read as a transcription factor's (`_tf_target_sets`). With layout
"lincs2020" the L1000 files are the LINCS 2020 release's instead
(`level3_files`, `instinfo_beta`, `geneinfo_beta`, `compoundinfo_beta`; see
the section at the end). Plain numpy/pandas/h5py: no Django.
"""

import json
from dataclasses import dataclass
from contextlib import ExitStack
from pathlib import Path

import h5py
import numpy as np
import pandas as pd

from conversion.files import atomic_path
from conversion.formats.gctx import GctxWriter, write_gctx
from conversion.formats.l1000 import batch_of_plate


@dataclass(frozen=True)
class WorldSize:
    n_landmarks: int
    n_output: int  # all RNA-seq output genes, landmarks included
    n_inferred: int  # non-landmark genes also present in the L1000 Level 3 file
    n_programs: int
    n_cells: int
    n_compounds: int
    doses: tuple[float, ...]
    times: tuple[int, ...]
    n_knockouts: int
    n_replicates: int  # replicate plates per batch
    n_dmso: int  # DMSO wells per compound plate
    n_vector: int  # vector-control wells per CRISPR plate
    n_archs4: int
    n_gtex: int


SIZES = {
    "tiny": WorldSize(100, 600, 100, 8, 3, 6, (1.0, 10.0), (6, 24), 4, 3, 6, 6, 400, 120),
    "demo": WorldSize(978, 5000, 1000, 20, 4, 12, (0.1, 1.0, 10.0), (6, 24), 10, 3, 8, 6, 3000, 500),
    "large": WorldSize(978, 23_614, 11_350, 40, 6, 30, (0.1, 1.0, 10.0), (6, 24), 20, 3, 12, 8, 6000, 2929),
}

CELL_LINES = ["A375", "MCF7", "PC3", "HA1E", "VCAP", "HT29", "A549", "HEPG2", "NPC", "YAPC"]
# log2 units: how hard a planted program shift pushes a gene with loading 1.
PROGRAM_SHIFT = 3.0
KNOCKDOWN = -4.0
TRUTH_THRESHOLD = 1.0  # |effect| in log2 units at the highest dose and latest time
TRUTH_PER_SIGNATURE = 25
EC50 = 1.0  # uM, for the Hill curve of dose response
XPR_TIME = 96
LAYOUTS = ("geo", "lincs2020")
TF_TARGETS_FILE = "tf_targets.gmt"
TF_TARGETS_PER_SET = 30


def make_world(out_dir, *, size: str = "tiny", seed: int = 0, layout: str = "geo", progress=None) -> dict:
    """Write a complete synthetic world under out_dir; returns (and saves) the manifest of paths.

    `layout` "geo" writes the GEO release's files (one Level 3 GCTX, inst_info,
    CMap gene_info); "lincs2020" the LINCS 2020 release's (split Level 3 files,
    instinfo_beta, geneinfo_beta, compoundinfo_beta; see _write_beta). Every
    draw only the lincs2020 layout makes comes from a second generator, so the
    GEO files of a seed never change when that layout does.
    """
    if size not in SIZES:
        raise ValueError(f"size must be one of {', '.join(SIZES)}, found {size!r}.")
    if layout not in LAYOUTS:
        raise ValueError(f"layout must be one of {', '.join(LAYOUTS)}, found {layout!r}.")
    spec = SIZES[size]
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    beta_rng = np.random.default_rng([seed, 2020])  # the lincs2020 layout's own draws
    say = progress or (lambda message: None)

    genes = _make_genes(spec, rng)
    model = _make_model(spec, genes, rng)
    if layout == "geo":
        design = _make_design(spec, genes, rng)
    else:
        design = _make_design(spec, genes, rng, revise_perts=lambda perts: _beta_perts(spec, genes, model, perts, beta_rng))

    manifest = {"size": size, "seed": seed}
    if layout == "geo":
        say("gene tables")
        manifest["gene_info"] = _write_gene_info(out / "gene_info.tsv", genes)
        manifest["ncbi_gene_info"] = _write_ncbi(out / "Homo_sapiens.gene_info", genes)
        say("L1000 Level 3")
        manifest["inst_info"] = _atomic_tsv(design.inst_info, out / "inst_info.tsv")
        manifest["l1000"] = _write_level3(out / "level3.gctx", spec, genes, model, design, rng)
    else:
        manifest["layout"] = layout
        manifest.update(_write_beta(out, spec, genes, model, design, rng, beta_rng, say))
    manifest["truth"] = _atomic_tsv(_truth_table(spec, genes, model, design), out / "truth.tsv")
    _write_gmt(out / TF_TARGETS_FILE, _tf_target_sets(spec, genes, model, design))  # no draws: the random stream is unchanged
    say("ARCHS4")
    manifest["archs4"] = _write_archs4(out / "archs4_gene_counts.h5", spec, genes, model, rng)
    say("GTEx paired set")
    manifest["gtex_l1000"], manifest["gtex_rnaseq"] = _write_gtex(out, spec, genes, model, rng)
    manifest["landmark_entrez_ids"] = genes.loc[genes.is_lm, "entrez_id"].astype(int).tolist()
    manifest["output_entrez_ids"] = genes.loc[genes.in_output, "entrez_id"].astype(int).tolist()
    manifest = {k: _as_text(v) for k, v in manifest.items()}
    with atomic_path(out / "manifest.json") as tmp:
        tmp.write_text(json.dumps(manifest, indent=1))
    return manifest


def _as_text(value):
    """Manifest values in JSON: paths (alone or in a list) as text."""
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, list):
        return [_as_text(v) for v in value]
    return value


# --- genes -----------------------------------------------------------------

_FAMILIES = [
    "SLC", "ZNF", "TMEM", "CCDC", "FAM", "KIF", "RAB", "MAP", "ATP", "CDK", "DUSP", "HOX", "KRT", "NDUF", "PSM",
    "RPL", "RPS", "SEC", "TRIM", "USP", "WDR", "ANKRD", "ARHGEF", "CYP", "DNAJ", "EIF", "GPR", "HSP", "IL", "LRRC",
    "MRPL", "NUP", "PPP", "SNX", "TBC", "UBE", "ZBTB", "ADAM", "CACN", "COL", "ERBB", "FBXO", "GAB", "IFT", "MED",
]
_WORDS = ["solute carrier", "zinc finger protein", "transmembrane protein", "coiled-coil domain containing",
          "family with sequence similarity", "kinesin family member", "RAB, member RAS oncogene family",
          "mitogen-activated protein kinase", "ATPase", "cyclin dependent kinase", "dual specificity phosphatase"]


def _symbols(n: int, rng) -> list[str]:
    """Unique, gene-looking symbols: family + number (+ an optional letter), e.g. SLC25A37, KIF18B."""
    seen, out = set(), []
    while len(out) < n:
        fam = _FAMILIES[rng.integers(len(_FAMILIES))]
        num = int(rng.integers(1, 400))
        if fam in ("SLC", "CYP", "ATP", "PPP") :
            sym = f"{fam}{num}{'ABCDEF'[rng.integers(6)]}{int(rng.integers(1, 40))}"
        else:
            sym = f"{fam}{num}" + ("" if rng.random() < 0.6 else "ABCL"[rng.integers(4)])
        if sym not in seen:
            seen.add(sym)
            out.append(sym)
    return out


def _make_genes(spec: WorldSize, rng) -> pd.DataFrame:
    """One row per output gene (plus a few ARCHS4-only genes): ids, symbols, roles."""
    n_extra = max(10, spec.n_output // 20)  # in ARCHS4 but not among the output genes
    n = spec.n_output + n_extra
    entrez = rng.choice(np.arange(1, 200_000), size=n, replace=False)
    symbols = _symbols(3 * n, rng)  # current symbols, then outdated ones and synonyms
    genes = pd.DataFrame(
        {
            "entrez_id": entrez.astype(np.int64),
            "symbol": symbols[:n],
            "ensembl_id": [f"ENSG{int(v):011d}" for v in rng.choice(np.arange(1, 300_000), size=n, replace=False)],
            "name": [f"{_WORDS[i % len(_WORDS)]} {i}" for i in range(n)],
        }
    )
    genes["in_output"] = np.arange(n) < spec.n_output
    genes["is_lm"] = np.arange(n) < spec.n_landmarks
    genes["is_bing"] = np.arange(n) < spec.n_landmarks + spec.n_inferred
    # Symbols drift: about 2% of landmarks carry an outdated symbol in the CMap
    # gene_info; NCBI lists that one as a previous symbol of the current one.
    genes["cmap_symbol"] = genes["symbol"]
    renamed = rng.choice(spec.n_landmarks, size=max(2, spec.n_landmarks // 50), replace=False)
    genes.loc[renamed, "cmap_symbol"] = symbols[n : n + len(renamed)]
    spare = iter(symbols[n + len(renamed) :])
    genes["synonyms"] = [
        "|".join([next(spare) for _ in range(int(rng.integers(0, 3)))]) for _ in range(n)
    ]
    genes.loc[renamed, "synonyms"] = [
        "|".join([s for s in (old, syn) if s]) for old, syn in zip(genes.loc[renamed, "cmap_symbol"], genes.loc[renamed, "synonyms"])
    ]
    return genes


# --- the generative model ----------------------------------------------------


@dataclass
class _Model:
    W: np.ndarray  # (K, G) program loadings over all genes (output + extras)
    mean: np.ndarray  # (G,) gene means on the log2(count + 1) scale
    cell_base: np.ndarray  # (n_cells, G)
    noise_sd: np.ndarray  # (G,)
    l1000_offset: np.ndarray  # (G,)
    l1000_scale: np.ndarray  # (G,)


def _make_model(spec: WorldSize, genes: pd.DataFrame, rng) -> _Model:
    g = len(genes)
    k = spec.n_programs
    # Each gene loads strongly on ~1-2 programs (sparse) plus a weak dense part,
    # so many genes, landmarks included, share each program.
    mask = rng.random((k, g)) < 1.5 / k
    W = (rng.normal(0, 1.0, (k, g)) * mask + rng.normal(0, 0.12, (k, g))).astype(np.float32)
    mean = np.clip(rng.normal(6.0, 2.2, g), 0.5, 13.0).astype(np.float32)
    cell_z = rng.normal(0, 1.0, (spec.n_cells, k)).astype(np.float32)
    cell_base = (mean + cell_z @ W + rng.normal(0, 0.3, (spec.n_cells, g))).astype(np.float32)
    return _Model(
        W=W,
        mean=mean,
        cell_base=cell_base,
        noise_sd=rng.uniform(0.15, 0.35, g).astype(np.float32),
        l1000_offset=rng.normal(4.0, 0.4, g).astype(np.float32),
        l1000_scale=rng.uniform(0.75, 1.25, g).astype(np.float32),
    )


def _rnaseq(model: _Model, cells: np.ndarray, z: np.ndarray, rng, extra=None) -> np.ndarray:
    """log2(count + 1)-scale expression (samples, G) for cell-line indices and latent states z (samples, K)."""
    x = model.cell_base[cells] + z @ model.W + rng.normal(0, 1, (len(cells), len(model.mean))).astype(np.float32) * model.noise_sd
    if extra is not None:
        x += extra
    return np.clip(x, 0.0, 18.0)


def _l1000(model: _Model, x: np.ndarray, gene_pos: np.ndarray, rng, plate_effect=None) -> np.ndarray:
    """The L1000 platform's view of expression x (samples, genes at gene_pos): saturating, rescaled, noisier."""
    y = model.l1000_offset[gene_pos] + model.l1000_scale[gene_pos] * 10.0 * np.tanh(x / 10.0)
    y = y + rng.normal(0, 0.35, y.shape)
    if plate_effect is not None:
        y = y + plate_effect
    return np.clip(y, 2.0, 15.5).astype(np.float32)


# --- the experiment design ----------------------------------------------------


@dataclass
class _Design:
    inst_info: pd.DataFrame  # one row per profile, in matrix column order
    perts: pd.DataFrame  # pert_id, pert_iname, pert_type, programs, strengths, target, active cells


def _drug_names(n: int, rng) -> list[str]:
    first = ["vel", "sor", "tra", "pal", "ima", "dab", "lap", "ner", "cri", "bor", "ola", "ibr", "sel", "ruxo", "tofa"]
    middle = ["a", "e", "i", "o", "u", "ra", "zo", "ti", "me"]
    last = ["tinib", "fenib", "mycin", "statin", "parib", "zomib", "ciclib", "olol", "azole", "lisib"]
    seen, out = set(), []
    while len(out) < n:
        name = first[rng.integers(len(first))] + middle[rng.integers(len(middle))] + last[rng.integers(len(last))]
        if name not in seen:
            seen.add(name)
            out.append(name)
    return out


def _make_design(spec: WorldSize, genes: pd.DataFrame, rng, *, revise_perts=None) -> _Design:
    """Perturbagens, then the plates that hold them.

    `revise_perts(perts)` (the lincs2020 layout: sibling sgRNAs, mechanisms of
    action) may change the perturbagens before they are put on plates; it draws
    from its own generator, so the GEO layout's draws stay as they were.
    """
    perts = _make_perts(spec, genes, rng)
    if revise_perts is not None:
        perts = revise_perts(perts)
    return _Design(inst_info=_lay_out_plates(spec, perts, rng), perts=perts)


def _make_perts(spec: WorldSize, genes: pd.DataFrame, rng) -> pd.DataFrame:
    k = spec.n_programs
    perts = []
    for i, name in enumerate(_drug_names(spec.n_compounds, rng)):
        programs = rng.choice(k, size=2, replace=False)
        perts.append(
            {
                "pert_id": f"BRD-K{rng.integers(10**7, 10**8)}",
                "pert_iname": name,
                "pert_type": "trt_cp",
                "programs": programs,
                "strengths": rng.choice([-1.0, 1.0], size=2) * np.array([1.0, 0.6]),
                "target": -1,
                "active": _active_cells(spec.n_cells, rng),
            }
        )
    # Knockout targets are landmark genes, so the knockdown itself is measured on L1000.
    targets = rng.choice(np.flatnonzero(genes.is_lm.to_numpy()), size=spec.n_knockouts, replace=False)
    for t in targets:
        perts.append(
            {
                "pert_id": f"BRDN{rng.integers(10**9, 10**10)}",
                "pert_iname": genes.symbol[t],
                "pert_type": "trt_xpr",
                "programs": rng.choice(k, size=1),
                "strengths": rng.choice([-1.0, 1.0], size=1),
                "target": int(t),
                "active": _active_cells(spec.n_cells, rng),
            }
        )
    return pd.DataFrame(perts)


def _lay_out_plates(spec: WorldSize, perts: pd.DataFrame, rng) -> pd.DataFrame:
    """GEO-style inst_info: one row per profile, plates contiguous, in matrix column order."""
    cells = CELL_LINES[: spec.n_cells]
    rows = []
    wells = [f"{r}{c:02d}" for r in "ABCDEFGHIJKLMNOP" for c in range(1, 25)]
    batch_no = 0
    compounds = perts[perts.pert_type == "trt_cp"]
    knockouts = perts[perts.pert_type == "trt_xpr"]
    for ci, cell in enumerate(cells):
        for time in spec.times:
            batch_no += 1
            layout = [("DMSO", "DMSO", "ctl_vehicle", np.nan, None)] * spec.n_dmso
            layout += [(p.pert_id, p.pert_iname, "trt_cp", dose, "uM") for p in compounds.itertuples() for dose in spec.doses]
            rows += _plates(f"SYN{batch_no:03d}_{cell}_{time}H", cell, time, layout, spec.n_replicates, wells, rng)
        batch_no += 1
        layout = [("EMPTY_VECTOR", "EMPTY_VECTOR", "ctl_vector", np.nan, None)] * spec.n_vector
        layout += [(p.pert_id, p.pert_iname, "trt_xpr", np.nan, None) for p in knockouts.itertuples()]
        rows += _plates(f"XPR{batch_no:03d}_{cell}_{XPR_TIME}H", cell, XPR_TIME, layout, spec.n_replicates, wells, rng)
    return pd.DataFrame(rows)


def _active_cells(n_cells: int, rng) -> np.ndarray:
    """Perturbagens act in some cell lines and not others (at least one)."""
    active = rng.random(n_cells) < 0.7
    active[rng.integers(n_cells)] = True
    return active


def _plates(batch: str, cell: str, time: int, layout, n_replicates: int, wells, rng) -> list[dict]:
    """Every treatment sits on every replicate plate of its batch, in a shuffled well order per plate."""
    if len(layout) > len(wells):
        raise ValueError(f"plate {batch}: {len(layout)} wells requested, a 384-well plate holds {len(wells)}.")
    rows = []
    for rep in range(1, n_replicates + 1):
        plate = batch.replace(f"_{time}H", f"_{time}H_X{rep}")
        order = rng.permutation(len(layout))
        for w, j in enumerate(order):
            pert_id, iname, ptype, dose, unit = layout[j]
            rows.append(
                {
                    "inst_id": f"{plate}:{wells[w]}",
                    "cell_id": cell,
                    "pert_id": pert_id,
                    "pert_iname": iname,
                    "pert_type": ptype,
                    "pert_dose": dose,
                    "pert_dose_unit": unit,
                    "pert_time": time,
                    "pert_time_unit": "h",
                    "rna_plate": plate,
                    "rna_well": wells[w],
                }
            )
    return rows


def _hill(dose: float) -> float:
    return dose / (dose + EC50)


def _effect_scale(dose, time, pert_type: str) -> float:
    """Fraction of the full planted effect at this dose and time (1 at the top dose, latest time)."""
    if pert_type == "trt_xpr":
        return 1.0
    return _hill(dose) / _hill(10.0) * (0.6 if time < 24 else 1.0)


def _pert_effects(spec: WorldSize, model: _Model, perts: pd.DataFrame) -> np.ndarray:
    """Full planted effect of each perturbagen on every gene, (n_perts, G), before cell-line activity."""
    effects = np.zeros((len(perts), model.W.shape[1]), dtype=np.float32)
    for i, p in enumerate(perts.itertuples()):
        for prog, strength in zip(p.programs, p.strengths):
            effects[i] += PROGRAM_SHIFT * strength * model.W[prog]
        if p.target >= 0:
            effects[i, p.target] += KNOCKDOWN
    return effects


# --- writers -----------------------------------------------------------------


def _atomic_tsv(frame: pd.DataFrame, path: Path) -> Path:
    with atomic_path(path) as tmp:
        frame.to_csv(tmp, sep="\t", index=False, na_rep="-666")
    return path


def _write_gene_info(path: Path, genes: pd.DataFrame) -> Path:
    """CMap `gene_info`: the genes of the Level 3 file (landmarks and inferred), with CMap's (older) symbols."""
    g = genes[genes.is_bing]
    frame = pd.DataFrame(
        {
            "pr_gene_id": g.entrez_id,
            "pr_gene_symbol": g.cmap_symbol,
            "pr_gene_title": g.name,
            "pr_is_lm": g.is_lm.astype(int),
            "pr_is_bing": g.is_bing.astype(int),
        }
    )
    return _atomic_tsv(frame, path)


def _write_ncbi(path: Path, genes: pd.DataFrame) -> Path:
    """NCBI Homo_sapiens.gene_info: current symbols, '|'-joined Synonyms (with previous symbols), Ensembl in dbXrefs."""
    frame = pd.DataFrame(
        {
            "#tax_id": 9606,
            "GeneID": genes.entrez_id,
            "Symbol": genes.symbol,
            "LocusTag": "-",
            "Synonyms": genes.synonyms.replace("", "-"),
            "dbXrefs": [f"HGNC:HGNC:{i + 1}|Ensembl:{e}" for i, e in enumerate(genes.ensembl_id)],
            "chromosome": "1",
            "map_location": "-",
            "description": genes.name,
            "type_of_gene": "protein-coding",
            "Symbol_from_nomenclature_authority": genes.symbol,
            "Full_name_from_nomenclature_authority": genes.name,
            "Nomenclature_status": "O",
            "Other_designations": "-",
            "Modification_date": "20240101",
            "Feature_type": "-",
        }
    )
    return _atomic_tsv(frame, path)


def _level3_rows(genes: pd.DataFrame, rng) -> tuple[np.ndarray, pd.DataFrame]:
    """Level 3 rows: gene positions in file row order (landmarks and inferred, shuffled) and their row metadata."""
    row_pos = rng.permutation(np.flatnonzero(genes.is_bing.to_numpy()))
    row_meta = pd.DataFrame(
        {
            "pr_gene_id": genes.entrez_id.to_numpy()[row_pos],
            "pr_gene_symbol": genes.cmap_symbol.to_numpy()[row_pos],
            "pr_is_lm": genes.is_lm.to_numpy()[row_pos].astype(int),
            "pr_is_bing": 1,
        }
    )
    return row_pos, row_meta


def _level3_plates(spec: WorldSize, model: _Model, design: _Design, row_pos: np.ndarray, rng):
    """Yield (wells, block) plate by plate: the plate's inst_info rows and their L1000 values (len(wells), len(row_pos)).

    Rows of a plate are contiguous in inst_info, so a writer needs one write per plate.
    """
    inst = design.inst_info
    effects = _pert_effects(spec, model, design.perts)
    pert_index = {pid: i for i, pid in enumerate(design.perts.pert_id)}
    active = np.stack(design.perts.active.to_numpy())  # (n_perts, n_cells)
    cell_index = {c: i for i, c in enumerate(CELL_LINES)}
    k = spec.n_programs
    for plate, wells in inst.groupby("rna_plate", sort=False):
        cells = np.array([cell_index[c] for c in wells.cell_id])
        shift = np.zeros((len(wells), len(model.mean)), dtype=np.float32)
        for j, w in enumerate(wells.itertuples()):
            if w.pert_type.startswith("trt_"):
                p = pert_index[w.pert_id]
                if active[p, cells[j]]:
                    shift[j] = effects[p] * _effect_scale(w.pert_dose, w.pert_time, w.pert_type)
        z = rng.normal(0, 0.7, (len(wells), k)).astype(np.float32)
        x = _rnaseq(model, cells, z, rng, extra=shift)[:, row_pos]
        plate_effect = rng.normal(0, 0.25, (1, len(row_pos))) + rng.normal(0, 0.2)
        yield wells, _l1000(model, x, row_pos, rng, plate_effect)


def _write_level3(path: Path, spec: WorldSize, genes: pd.DataFrame, model: _Model, design: _Design, rng) -> Path:
    """L1000 Level 3 GCTX, plate by plate (bounded memory), rows in shuffled order keyed by Entrez id."""
    row_pos, row_meta = _level3_rows(genes, rng)
    row_ids = [str(e) for e in row_meta.pr_gene_id]
    with GctxWriter(path, row_ids, len(design.inst_info), row_meta=row_meta) as writer:
        for wells, block in _level3_plates(spec, model, design, row_pos, rng):
            pos = wells.index.to_numpy()
            writer.write(int(pos[0]), block, wells.inst_id.to_numpy(), col_meta=wells.drop(columns="inst_id").reset_index(drop=True))
    return path


def _truth_table(spec: WorldSize, genes: pd.DataFrame, model: _Model, design: _Design) -> pd.DataFrame:
    """Strongest planted effects per (perturbagen, active cell line), at the top dose and latest time."""
    effects = _pert_effects(spec, model, design.perts)[:, : spec.n_output]
    rows = []
    for i, p in enumerate(design.perts.itertuples()):
        e = effects[i]
        order = np.argsort(-np.abs(e))
        top = [g for g in order[:TRUTH_PER_SIGNATURE] if abs(e[g]) >= TRUTH_THRESHOLD]
        for c in np.flatnonzero(p.active):
            for g in top:
                rows.append(
                    {
                        "pert_id": p.pert_id,
                        "pert_iname": p.pert_iname,
                        "pert_type": p.pert_type,
                        "cell_id": CELL_LINES[c],
                        "entrez_id": int(genes.entrez_id[g]),
                        "symbol": genes.symbol[g],
                        "is_landmark": bool(genes.is_lm[g]),
                        "direction": "up" if e[g] > 0 else "down",
                        "effect": round(float(e[g]), 3),
                    }
                )
    return pd.DataFrame(rows)


def _tf_target_sets(spec: WorldSize, genes: pd.DataFrame, model: _Model, design: _Design) -> list[tuple[str, str, list[str]]]:
    """(term, description, symbols) per knocked-out gene: the genes its knockout lowers most, as a TF's targets.

    A knockout moves one gene program (`_make_perts`), so read as the knockout
    of a transcription factor it lowers the factor's targets: the
    TF_TARGETS_PER_SET output genes with the most negative planted effect
    (PROGRAM_SHIFT * strength * W, the knocked-out gene itself left out). The
    term is the knocked-out gene's symbol, the description starts with the
    direction, "down". Sibling sgRNAs of one gene (lincs2020) share the set.
    Computed from the drawn world only: it draws no random numbers.
    """
    effects = _pert_effects(spec, model, design.perts)[:, : spec.n_output]  # (n_perts, output genes)
    sets, seen = [], set()
    for i, p in enumerate(design.perts.itertuples()):
        if p.pert_type != "trt_xpr" or p.target in seen:
            continue
        seen.add(p.target)
        e = effects[i].copy()
        e[p.target] = np.inf  # the knocked-out gene is the factor, not one of its targets
        lowered = [g for g in np.argsort(e, kind="stable")[:TF_TARGETS_PER_SET] if e[g] < 0]
        programs = ", ".join(str(int(k)) for k in p.programs)
        description = f"down: the genes the knockout of {p.pert_iname} lowers most (program {programs})"
        sets.append((str(p.pert_iname), description, [str(genes.symbol[g]) for g in lowered]))
    return sets


def _write_gmt(path: Path, sets: list[tuple[str, str, list[str]]]) -> Path:
    """GMT: one line per set, term<TAB>description<TAB>gene<TAB>gene..."""
    with atomic_path(path) as tmp:
        tmp.write_text("".join("\t".join([term, description, *members]) + "\n" for term, description, members in sets), encoding="utf-8")
    return path


def _write_archs4(path: Path, spec: WorldSize, genes: pd.DataFrame, model: _Model, rng, chunk: int = 1000) -> Path:
    """ARCHS4-style HDF5: data/expression (genes, samples) uint32 counts, genes in shuffled order."""
    gene_order = rng.permutation(len(genes))
    n, k = spec.n_archs4, spec.n_programs
    with atomic_path(path) as tmp, h5py.File(tmp, "w") as h5:
        expr = h5.create_dataset(
            "data/expression", shape=(len(genes), n), dtype=np.uint32, chunks=(min(len(genes), 2000), min(n, 100)), compression="gzip", compression_opts=1
        )
        for lo in range(0, n, chunk):
            m = min(chunk, n - lo)
            cells = rng.integers(spec.n_cells, size=m)
            # Public RNA-seq spans more states than the L1000 plates: wider latent
            # variation, including program shifts like those of perturbations.
            z = rng.normal(0, 1.3, (m, k)).astype(np.float32)
            x = _rnaseq(model, cells, z, rng)
            depth = rng.lognormal(0.0, 0.35, (m, 1))
            counts = rng.poisson(np.maximum(np.exp2(x) - 1.0, 0.0) * depth)
            expr[:, lo : lo + m] = counts[:, gene_order].T.astype(np.uint32)
        enc = lambda values: np.array([str(v).encode() for v in values])
        h5["meta/genes/symbol"] = enc(genes.symbol.to_numpy()[gene_order])
        h5["meta/genes/ensembl_gene"] = enc(genes.ensembl_id.to_numpy()[gene_order])
        h5["meta/samples/geo_accession"] = enc([f"GSM{9_000_000 + i}" for i in range(n)])
        h5["meta/samples/series_id"] = enc([f"GSE{100_000 + i // 50}" for i in range(n)])
        h5["meta/info/version"] = np.bytes_("2.latest-synthetic")
    return path


def _write_gtex(out: Path, spec: WorldSize, genes: pd.DataFrame, model: _Model, rng) -> tuple[Path, Path]:
    """GSE92743-style pairs: L1000 landmark values and RNA-seq log2(count + 1) of all output genes, same samples."""
    n, k = spec.n_gtex, spec.n_programs
    ids = np.array([f"GTEX-{rng.integers(10**4, 10**5):05d}-{i:04d}-SM-{i:05d}" for i in range(n)])
    # Samples drawn like the public RNA-seq: a cell-line baseline with the wider latent variation.
    cells = rng.integers(spec.n_cells, size=n)
    z = rng.normal(0, 1.3, (n, k)).astype(np.float32)
    x = _rnaseq(model, cells, z, rng)  # (n, G)
    lm = np.flatnonzero(genes.is_lm.to_numpy())
    l1000 = _l1000(model, x[:, lm], lm, rng)
    depth = rng.lognormal(0.0, 0.3, (n, 1))
    rna = np.log2(rng.poisson(np.maximum(np.exp2(x) - 1.0, 0.0) * depth) + 1.0).astype(np.float32)
    out_genes = np.flatnonzero(genes.in_output.to_numpy())
    l_path = write_gctx(
        out / "gtex_l1000.gctx",
        l1000,
        [str(e) for e in genes.entrez_id.to_numpy()[lm]],
        ids,
        row_meta=pd.DataFrame({"pr_gene_symbol": genes.symbol.to_numpy()[lm]}),
    )
    order = rng.permutation(n)  # the RNA-seq file lists the samples in another order
    r_path = write_gctx(
        out / "gtex_rnaseq.gctx",
        rna[order][:, out_genes],
        [str(e) for e in genes.entrez_id.to_numpy()[out_genes]],
        ids[order],
        row_meta=pd.DataFrame({"symbol": genes.symbol.to_numpy()[out_genes]}),
    )
    return l_path, r_path


# --- the LINCS 2020 ("beta") layout --------------------------------------------
#
# The release's own files, so that the readers written for them are exercised:
# Level 3 split by perturbation type (level3_beta_ctl / trt_cp / trt_xpr, the same
# rows, only ids inside), instinfo_beta (det_plate with the bead batch, rna_plate
# without it or empty, three spellings of micromolar, a QC flag), geneinfo_beta
# (feature_space) and compoundinfo_beta (one row per compound and target).

LEVEL3_KINDS = ("ctl", "trt_cp", "trt_xpr")  # file order: controls first, as import_l1000 reads them
# One mechanism of action per class of compounds that move the same gene program the same way.
MOAS = [
    "MEK inhibitor", "HDAC inhibitor", "CDK inhibitor", "tubulin inhibitor", "HSP inhibitor", "EGFR inhibitor",
    "mTOR inhibitor", "PI3K inhibitor", "topoisomerase inhibitor", "proteasome inhibitor", "BRAF inhibitor",
    "JAK inhibitor", "BET inhibitor", "glucocorticoid receptor agonist",
]
TARGETS_PER_PROGRAM = 4  # a class's compounds target some of its program's most-loaded genes
MICROMOLAR = ("uM", "um", "\u00b5M")  # spellings met in the release, for rows of the same compound
FAILURE_MODES = ("dyn_range", "inv_level_10", "qc_iqr")
QC_FAIL_RATE = 0.03
INSTINFO_COLUMNS = [
    "bead_batch", "nearest_dose", "pert_dose", "pert_dose_unit", "pert_idose", "pert_time", "pert_itime", "pert_time_unit",
    "cell_mfc_name", "pert_mfc_id", "det_plate", "det_well", "rna_plate", "rna_well", "count_mean", "count_cv", "qc_f_logp",
    "qc_iqr", "qc_slope", "pert_id", "sample_id", "pert_type", "cell_iname", "qc_pass", "dyn_range", "inv_level_10",
    "build_name", "failure_mode", "project_code", "cmap_name",
]
GENEINFO_COLUMNS = ["gene_id", "gene_symbol", "ensembl_id", "gene_title", "gene_type", "src", "feature_space"]
COMPOUNDINFO_COLUMNS = ["pert_id", "cmap_name", "target", "moa", "canonical_smiles", "inchi_key", "compound_aliases"]


def _write_beta(out: Path, spec: WorldSize, genes: pd.DataFrame, model: _Model, design: _Design, rng, beta_rng, say) -> dict:
    """The lincs2020 layout's L1000 files; returns their manifest entries."""
    say("gene and compound tables")
    files = {
        "geneinfo_beta": _write_beta_gene_info(out / "geneinfo_beta.txt", genes, beta_rng),
        "compoundinfo_beta": _write_compound_info(out / "compoundinfo_beta.txt", design.perts, beta_rng),
        "ncbi_gene_info": _write_ncbi(out / "Homo_sapiens.gene_info", genes),
    }
    say("L1000 Level 3 (ctl, trt_cp, trt_xpr)")
    inst = _beta_inst_info(design.inst_info, beta_rng)
    files["instinfo_beta"] = _atomic_tsv(inst, out / "instinfo_beta.txt")
    files["level3_files"] = _write_beta_level3(out, spec, genes, model, design, inst, rng, beta_rng)
    return files


def _beta_perts(spec: WorldSize, genes: pd.DataFrame, model: _Model, perts: pd.DataFrame, rng) -> pd.DataFrame:
    """The perturbagens of the lincs2020 layout: compounds in mechanism classes, 2 or 3 sgRNAs per knocked-out gene.

    Compounds come in classes (about three per class): a class's compounds move
    the same main program in the same direction, carry the class's MOA and target
    some of that program's most-loaded genes, so an enrichment of signatures by
    MOA or target finds genes that really move together. Each knockout gains one
    or two sibling sgRNAs (new pert_ids, the same gene as cmap_name) acting on
    the same program, each at its own efficiency. Adds `moa` and `targets`.
    """
    records = perts.to_dict("records")
    compounds = [r for r in records if r["pert_type"] == "trt_cp"]
    n_classes = min(len(MOAS), max(2, len(compounds) // 3))
    class_programs = rng.choice(spec.n_programs, size=n_classes, replace=False)
    class_signs = rng.choice([-1.0, 1.0], size=n_classes)
    output = np.flatnonzero(genes.in_output.to_numpy())
    out = []
    for j, r in enumerate(records):
        if r["pert_type"] == "trt_cp":
            c = j % n_classes
            main = int(class_programs[c])
            second = int(r["programs"][1])
            if second == main:
                second = (main + 1 + int(rng.integers(spec.n_programs - 1))) % spec.n_programs
            top = output[np.argsort(-np.abs(model.W[main, output]), kind="stable")[:TARGETS_PER_PROGRAM]]
            extra = rng.choice(top[1:], size=int(rng.integers(0, 3)), replace=False)
            out.append(
                {
                    **r,
                    "programs": np.array([main, second]),
                    "strengths": np.array([class_signs[c], r["strengths"][1]]),
                    "moa": MOAS[c],
                    "targets": [genes.symbol[g] for g in (top[0], *extra)],
                }
            )
        else:
            out.append({**r, "moa": None, "targets": []})
            for _ in range(int(rng.integers(1, 3))):  # sibling sgRNAs against the same gene
                out.append({**r, "pert_id": f"BRDN{rng.integers(10**9, 10**10)}", "strengths": r["strengths"] * rng.uniform(0.7, 1.0), "moa": None, "targets": []})
    frame = pd.DataFrame(out)
    if frame.pert_id.duplicated().any():
        raise ValueError(f"synthetic pert_ids must be unique, found {frame.pert_id[frame.pert_id.duplicated()].iloc[0]} twice.")
    return frame


def _beta_inst_info(inst: pd.DataFrame, rng) -> pd.DataFrame:
    """instinfo_beta rows for the GEO-style design rows (same index, so same matrix order), in the release's columns.

    det_plate is `<plate>_B<bead>` (one bead batch per batch), on some plates
    `<plate>.A2_B<bead>`; rna_plate is det_plate without the bead suffix, empty
    on a few rows; sample_id is `<det_plate>:<det_well>`. About 3% of profiles,
    treatments and controls, fail QC (qc_pass 0, failure_mode and a bad metric).
    Missing numbers are -666 (written by _atomic_tsv), missing text empty.
    """
    n = len(inst)
    batch = inst.rna_plate.map(batch_of_plate)
    bead = {b: int(rng.integers(5, 40)) for b in batch.unique()}
    plates = inst.rna_plate.unique()
    dotted = rng.random(len(plates)) < 0.25
    if not dotted.any():
        dotted[rng.integers(len(plates))] = True
    rna_name = {p: f"{p}.A2" if d else p for p, d in zip(plates, dotted)}
    det_plate = [f"{rna_name[p]}_B{bead[b]}" for p, b in zip(inst.rna_plate, batch)]
    rna_plate = inst.rna_plate.map(rna_name).to_numpy(dtype=object)
    rna_well = inst.rna_well.to_numpy(dtype=object).copy()
    no_rna = rng.random(n) < 0.04
    rna_plate[no_rna], rna_well[no_rna] = "", ""

    is_cp = (inst.pert_type == "trt_cp").to_numpy()
    is_trt = inst.pert_type.str.startswith("trt_").to_numpy()
    failed = rng.random(n) < QC_FAIL_RATE
    for kind in (is_trt, ~is_trt):  # at least one failed treatment and one failed control
        if not (failed & kind).any():
            failed[rng.choice(np.flatnonzero(kind))] = True
    mode = np.where(failed, rng.choice(FAILURE_MODES, size=n), "")
    dose = np.where(is_cp, inst.pert_dose.to_numpy(dtype=float), np.nan)
    unit = np.where(is_cp, rng.choice(MICROMOLAR, size=n, p=[0.6, 0.2, 0.2]), "")
    project = batch.str.extract(r"^([A-Z]+)", expand=False)
    frame = pd.DataFrame(
        {
            "bead_batch": [f"b{bead[b]}" for b in batch],
            "nearest_dose": dose,
            "pert_dose": dose,
            "pert_dose_unit": unit,
            "pert_idose": [f"{d:g} uM" if c else "" for d, c in zip(dose, is_cp)],
            "pert_time": inst.pert_time.to_numpy(),
            "pert_itime": [f"{t} h" for t in inst.pert_time],
            "pert_time_unit": "h",
            "cell_mfc_name": inst.cell_id.to_numpy(),
            "pert_mfc_id": np.where(is_cp, inst.pert_id + "-001-01-1", inst.pert_id),
            "det_plate": det_plate,
            "det_well": inst.rna_well.to_numpy(),
            "rna_plate": rna_plate,
            "rna_well": rna_well,
            "count_mean": np.round(rng.normal(70, 12, n).clip(20), 1),
            "count_cv": np.round(rng.uniform(0.3, 0.7, n), 3),
            "qc_f_logp": np.round(rng.uniform(-12, -3, n), 3),
            "qc_iqr": np.round(np.where(mode == "qc_iqr", rng.uniform(0.5, 1.5, n), rng.normal(4.0, 0.4, n)), 3),
            "qc_slope": np.round(rng.normal(60, 8, n), 2),
            "pert_id": inst.pert_id.to_numpy(),
            "sample_id": [f"{p}:{w}" for p, w in zip(det_plate, inst.rna_well)],
            "pert_type": inst.pert_type.to_numpy(),
            "cell_iname": inst.cell_id.to_numpy(),
            "qc_pass": np.where(failed, 0, 1),
            "dyn_range": np.round(np.where(mode == "dyn_range", rng.uniform(0.5, 1.8, n), rng.normal(9.0, 1.5, n).clip(3)), 3),
            "inv_level_10": np.round(np.where(mode == "inv_level_10", rng.uniform(200, 900, n), rng.normal(3500, 600, n).clip(1200)), 1),
            "build_name": "",
            "failure_mode": mode,
            "project_code": project.to_numpy(),
            "cmap_name": inst.pert_iname.to_numpy(),
        },
        index=inst.index,
    )
    return frame[INSTINFO_COLUMNS]


def _write_beta_gene_info(path: Path, genes: pd.DataFrame, rng) -> Path:
    """geneinfo_beta: the Level 3 genes with CMap's (older) symbols; feature_space landmark, best inferred (~80%) or inferred."""
    g = genes[genes.is_bing]
    best = rng.random(len(g)) < 0.8
    frame = pd.DataFrame(
        {
            "gene_id": g.entrez_id,
            "gene_symbol": g.cmap_symbol,
            "ensembl_id": g.ensembl_id,
            "gene_title": g.name,
            "gene_type": "protein-coding",
            "src": "NCBI",
            "feature_space": np.where(g.is_lm, "landmark", np.where(best, "best inferred", "inferred")),
        }
    )
    return _atomic_tsv(frame[GENEINFO_COLUMNS], path)


def _write_compound_info(path: Path, perts: pd.DataFrame, rng) -> Path:
    """compoundinfo_beta: one row per (compound, target), made-up SMILES and InChIKeys, an alias for some."""
    fragments = ["c1ccccc1", "C(=O)N", "N1CCOCC1", "Cl", "F", "OC", "c1ccncc1", "C(F)(F)F", "S(=O)(=O)N", "CC", "N1CCNCC1"]
    letters = np.array(list("ABCDEFGHIJKLMNOPQRSTUVWXYZ"))
    rows = []
    for p in perts[perts.pert_type == "trt_cp"].itertuples():
        smiles = "".join(rng.choice(fragments, size=int(rng.integers(3, 7))))
        inchi_key = "".join(rng.choice(letters, size=14)) + "-UHFFFAOYSA-N"
        alias = f"SYN-{rng.integers(1000, 9999)}" if rng.random() < 0.3 else ""
        for target in p.targets:
            rows.append(
                {"pert_id": p.pert_id, "cmap_name": p.pert_iname, "target": target, "moa": p.moa,
                 "canonical_smiles": smiles, "inchi_key": inchi_key, "compound_aliases": alias}
            )  # fmt: skip
    return _atomic_tsv(pd.DataFrame(rows, columns=COMPOUNDINFO_COLUMNS), path)


def _write_beta_level3(out: Path, spec: WorldSize, genes: pd.DataFrame, model: _Model, design: _Design, inst: pd.DataFrame, rng, beta_rng) -> list[Path]:
    """level3_beta_{ctl,trt_cp,trt_xpr}_n{N}x{G}.gctx, plate by plate (bounded memory); returns the paths in LEVEL3_KINDS order.

    The same rows (Entrez ids, one shuffled order) in each; columns are sample
    ids, and, as in the release, the files carry no other metadata. ctl holds
    the vehicle and vector controls of every plate. A QC-failed profile
    (qc_pass 0) is flattened towards its mean with extra noise, so keeping it
    would hurt a signature.
    """
    row_pos, _ = _level3_rows(genes, rng)
    row_ids = [str(e) for e in genes.entrez_id.to_numpy()[row_pos]]
    kind = pd.Series(np.where(inst.pert_type.str.startswith("ctl_"), "ctl", inst.pert_type), index=inst.index)
    counts = kind.value_counts()
    missing = [k for k in LEVEL3_KINDS if k not in counts]
    if missing or set(counts.index) - set(LEVEL3_KINDS):
        raise ValueError(f"the lincs2020 layout needs profiles of kinds {', '.join(LEVEL3_KINDS)} only, found {', '.join(counts.index)}.")
    column = kind.groupby(kind).cumcount().to_numpy()  # each profile's column in its own file
    kinds, sample_ids, failed = kind.to_numpy(), inst.sample_id.to_numpy(), (inst.qc_pass == 0).to_numpy()
    paths = [out / f"level3_beta_{k}_n{counts[k]}x{len(row_ids)}.gctx" for k in LEVEL3_KINDS]
    with ExitStack() as stack:
        writers = {k: stack.enter_context(GctxWriter(path, row_ids, int(counts[k]))) for k, path in zip(LEVEL3_KINDS, paths)}
        for wells, block in _level3_plates(spec, model, design, row_pos, rng):
            pos = wells.index.to_numpy()
            bad = failed[pos]
            if bad.any():
                mean = block[bad].mean(axis=1, keepdims=True)
                noisy = mean + 0.3 * (block[bad] - mean) + beta_rng.normal(0, 1.0, (int(bad.sum()), block.shape[1]))
                block[bad] = np.clip(noisy, 2.0, 15.5)
            for k in LEVEL3_KINDS:
                mine = kinds[pos] == k
                if mine.any():  # a plate's profiles of one kind are consecutive columns of that file
                    writers[k].write(int(column[pos][mine][0]), block[mine], sample_ids[pos][mine])
    return paths
