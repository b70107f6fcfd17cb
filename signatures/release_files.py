"""A release's downloadable files: the stores, its signature table, its README, the profiles it came from.

`write_release_files` runs once a release's index is built (signatures.compute)
and again on demand (`manage.py release_files NAME`). It writes, into the
release's store directory, `signatures.tsv` (one row per signature, in store
column order: the metadata the search shows) and `README.txt` (what model, what
data, which controls), each under a temporary name and renamed, then
`files.json`: every downloadable file with its size, modification time and
SHA-256, hashed by streaming it in 8 MiB pieces (a full release is hundreds of
GB: minutes, never its size in memory). The search serves only the files that
`files.json` lists, and only while each still has the size and time recorded.
"""

from __future__ import annotations

import csv
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from conversion.files import atomic_path
from signatures.provenance import release_provenance

FILES_MANIFEST = "files.json"
SIGNATURE_TABLE = "signatures.tsv"
README = "README.txt"
STORE_FILES = ("cd.gctx", "logfc.gctx", "gene_major.h5")
HASH_CHUNK = 8 * 2**20
TABLE_FIELDS = (
    "column", "sig_id", "pert_type", "pert_id", "pert_name", "cell_line__name", "dose", "dose_unit", "time", "time_unit",
    "batch", "n_replicates", "n_controls", "controls", "target_gene", "pert_targets", "pert_moa",
)  # fmt: skip


@dataclass(frozen=True)
class ReleaseFile:
    name: str  # the name it is served under
    path: Path
    size: int
    mtime_ns: int
    sha256: str
    description: str

    def unchanged(self) -> bool:
        try:
            stat = self.path.stat()
        except OSError:
            return False
        return (stat.st_size, stat.st_mtime_ns) == (self.size, self.mtime_ns)


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while piece := fh.read(HASH_CHUNK):
            digest.update(piece)
    return digest.hexdigest()


def _profile_files(release) -> list[tuple[str, Path, str]]:
    """The RNA-seq-like profiles the release was computed from: the dataset's matrix, or a manifest's members."""
    from conversion.formats.multi import is_manifest, member_paths, read_manifest

    path = release.dataset.file
    if is_manifest(path):
        members = member_paths(read_manifest(path), path=path)
        return [(f"profiles-{i + 1}-{m.name}", m, f"profiles the release was computed from, file {i + 1} of {len(members)} ({release.dataset.name})") for i, m in enumerate(members)]
    return [(f"profiles-{path.name}", path, f"profiles the release was computed from ({release.dataset.name})")]


def _write_signature_table(release, path: Path) -> None:
    from signatures.models import Signature

    rows = Signature.objects.filter(release=release).order_by("column").values_list(*TABLE_FIELDS)
    with atomic_path(path) as tmp, open(tmp, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh, delimiter="\t", lineterminator="\n")
        writer.writerow([f.replace("cell_line__name", "cell_line") for f in TABLE_FIELDS])
        for row in rows.iterator(chunk_size=5000):
            writer.writerow(["" if v is None else v for v in row])


def readme_text(release) -> str:
    p, source = release_provenance(release), release.reliability or {}
    reliability = (
        f"each gene's Pearson r on {source.get('n_samples')} paired L1000/RNA-seq samples ({source.get('paired_set')}), recorded by the model's evaluation"
        if source else "not measured (no paired evaluation of the model was recorded)"
    )
    return "\n".join([
        f"l1kweb release {release.name}",
        "",
        f"Model: {p.model_version}; profiles converted in {p.precision}" + (f" on {p.device}, stored as {p.stored_as}" if p.device else "") + ".",
        f"Data: dataset {release.dataset.name} ({release.dataset.n_profiles} profiles x {release.dataset.n_genes} genes).",
        f"Signatures: {release.n_signatures} x {release.n_genes} genes; characteristic direction (gamma {p.gamma:g}) and log2 fold change,",
        f"controls {p.controls} (auto: vehicle controls where a batch has enough, else every other profile of the batch",
        f"but the perturbagen's own and, for genetic perturbations, those aimed at the same gene); at least {p.min_replicates} replicates.",
        f"Per-gene reliability: {reliability}.",
        "",
        "Files:",
        "  cd.gctx, logfc.gctx  signature-major GCTX (CMap layout): rows = genes by Entrez id, columns = signature ids;",
        "                       CD is NaN where a gene is constant among a signature's profiles (no direction).",
        "  gene_major.h5        the same values gene by gene (cd, logfc, rank_up; rank 0 = no CD), for per-gene reads.",
        f"  {SIGNATURE_TABLE}       one row per signature, in store column order (column = position in the stores).",
        "  profiles-*           the RNA-seq-like profiles (GCTX) the signatures were computed from.",
        "Each file's SHA-256 is listed on the release's download page and in files.json.",
        "",
    ])


def write_release_files(release) -> list[ReleaseFile]:
    """Write the signature table and README beside the stores, hash every downloadable file, write files.json."""
    directory = release.store_dir
    _write_signature_table(release, directory / SIGNATURE_TABLE)
    with atomic_path(directory / README) as tmp:
        tmp.write_text(readme_text(release), encoding="utf-8")
    entries = [(README, directory / README, "what model, data and controls produced the release"),
               (SIGNATURE_TABLE, directory / SIGNATURE_TABLE, "signature metadata, one row per signature")]
    entries += [(name, directory / name, {"cd.gctx": "CD of every signature and gene (GCTX)", "logfc.gctx": "log2 fold change of every signature and gene (GCTX)",
                                          "gene_major.h5": "the same values gene by gene (HDF5)"}[name]) for name in STORE_FILES]
    entries += _profile_files(release)
    files = []
    for name, path, description in entries:
        stat = path.stat()
        files.append(ReleaseFile(name=name, path=path, size=stat.st_size, mtime_ns=stat.st_mtime_ns, sha256=sha256_of(path), description=description))
    listing = [{"name": f.name, "path": str(f.path), "size": f.size, "mtime_ns": f.mtime_ns, "sha256": f.sha256, "description": f.description} for f in files]
    with atomic_path(directory / FILES_MANIFEST) as tmp:
        tmp.write_text(json.dumps({"release": release.name, "files": listing}, indent=1))
    return files


def release_files(release) -> list[ReleaseFile] | None:
    """The files files.json lists, or None when they have not been hashed yet."""
    path = release.store_dir / FILES_MANIFEST
    if not path.is_file():
        return None
    listing = json.loads(path.read_text())["files"]
    return [ReleaseFile(name=f["name"], path=Path(f["path"]), size=f["size"], mtime_ns=f["mtime_ns"], sha256=f["sha256"], description=f["description"]) for f in listing]
