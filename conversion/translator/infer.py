"""Streaming conversion: an L1000 Level 3 GCTX/GCT file (or a dataset manifest of several) -> an RNA-seq-like GCTX file.

Memory is bounded by one chunk of profiles whatever the input size: the input
is read chunk_size samples at a time (all genes of those samples, then the
landmark rows by Entrez id), converted in batches under inference mode, and
each finished chunk is saved as its own part file (written to a temporary name,
then renamed). A killed run therefore resumes at the first chunk without a part,
and no profile is converted twice into the output or lost. When every part is
there they are streamed into the final GCTX (rows = output Entrez ids with
symbols as row metadata, columns = input sample ids with their metadata), which
appears atomically; the parts are then removed.
"""

import json
import math
import shutil
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd

from conversion.files import atomic_path
from conversion.formats import open_matrix
from conversion.formats.l1000 import landmark_positions
from conversion.formats.multi import MultiReader

from .bundle import Bundle

# progress(chunks_done, chunks_total) is called after every finished chunk; it may
# raise (e.g. the job was cancelled) to stop between chunks, leaving the parts.
ChunkProgress = Callable[[int, int], None]

# Profiles per forward pass. On the CPU, batches beyond a few hundred only add
# cache misses on the (batch, 23,614) activations; on a GPU, large batches fill it.
DEFAULT_BATCH = {"cpu": 512, "cuda": 16384}
CONVERSION_ATTR = "l1kweb_conversion"  # root attribute of a converted GCTX: conversion_description as JSON


def parts_dir(out_path: str | Path) -> Path:
    out_path = Path(out_path)
    return out_path.with_name(f".{out_path.name}.parts")


def landmark_rows(reader, entrez_ids, *, path=None) -> np.ndarray:
    """Positions of the bundle's landmark genes among the reader's rows, by Entrez id."""
    return landmark_positions(reader.row_meta, entrez_ids, path=path)


def _output_row_meta(bundle: Bundle) -> pd.DataFrame:
    ids = list(bundle.output_entrez_ids)
    return pd.DataFrame(
        {"pr_gene_id": np.asarray(ids, dtype=np.int64), "pr_gene_symbol": list(bundle.output_symbols)},
        index=pd.Index(ids, name="id"),
    )


def _prepare_parts(directory: Path, description: dict) -> None:
    """Keep parts only if they were made by the same conversion (bundle, input, chunking, dtype)."""
    manifest = directory / "manifest.json"
    if directory.exists():
        try:
            same = json.loads(manifest.read_text()) == description
        except (OSError, ValueError):
            same = False
        if same:
            return
        shutil.rmtree(directory)
    directory.mkdir(parents=True)
    with atomic_path(manifest) as tmp:
        tmp.write_text(json.dumps(description, indent=1))


def _part(directory: Path, index: int) -> Path:
    return directory / f"chunk_{index:06d}.npy"


def _save_part(path: Path, block: np.ndarray) -> None:
    with atomic_path(path) as tmp, open(tmp, "wb") as fh:
        np.save(fh, block)


def convert_file(
    bundle: Bundle,
    in_path: str | Path,
    out_path: str | Path,
    *,
    chunk_size: int = 20_000,
    device: str = "auto",
    float16: bool = False,
    progress: ChunkProgress | None = None,
    start_chunk: int = 0,
    batch_size: int | None = None,
) -> dict:
    """Convert in_path to out_path; resumable. Returns a summary dict.

    Chunks whose part file already exists are not recomputed; `start_chunk`
    (the job's record of finished chunks) is only reported, since the part
    files on disk are the truth about what is done.
    """
    in_path, out_path = Path(in_path), Path(out_path)
    if chunk_size < 1:
        raise ValueError(f"chunk_size must be a positive integer, found {chunk_size}.")
    bundle.to(device)
    batch_size = batch_size or DEFAULT_BATCH[bundle.device.type]
    dtype = np.float16 if float16 else np.float32
    directory = parts_dir(out_path)
    started = time.perf_counter()
    computed = 0
    with open_matrix(in_path) as reader:
        rows = landmark_rows(reader, bundle.input_entrez_ids, path=in_path)
        n_cols = reader.shape[0]
        if n_cols == 0:
            raise ValueError(f"{in_path}: expected at least one profile (column) to convert, found none.")
        n_chunks = math.ceil(n_cols / chunk_size)
        stat = in_path.stat()
        description = {
            "input": str(in_path.resolve()), "input_size": stat.st_size, "input_mtime": stat.st_mtime,
            "bundle_version": bundle.version, "output_genes": len(bundle.output_entrez_ids),
            "chunk_size": chunk_size, "dtype": np.dtype(dtype).name, "n_cols": n_cols,
        }
        if isinstance(reader, MultiReader):
            # A dataset manifest: the stat above is the manifest's. The reader refused to open if a
            # member changed since the manifest was written; the members' own size and mtime here
            # also drop parts converted from a member that was replaced and imported again.
            description["input_members"] = reader.manifest["members"]
        _prepare_parts(directory, description)
        todo = [i for i in range(n_chunks) if not _part(directory, i).exists()]
        done = n_chunks - len(todo)
        if progress and done:
            progress(done, n_chunks)
        # One writer thread saves chunk i while the network computes chunk i + 1
        # (torch releases the GIL); a chunk counts as done only once its part is on disk.
        with ThreadPoolExecutor(max_workers=1) as writer:
            pending = None
            for index in todo:
                _, _, block = next(reader.iter_chunks(chunk_size, rows=rows, start=index * chunk_size))  # (chunk, n_lm)
                predicted = bundle.predict(block, batch_size=batch_size, dtype=dtype)  # (chunk, n_out)
                if pending is not None:
                    pending.result()
                    done, computed = done + 1, computed + 1
                    if progress:
                        progress(done, n_chunks)
                pending = writer.submit(_save_part, _part(directory, index), predicted)
            if pending is not None:
                pending.result()
                done, computed = done + 1, computed + 1
                if progress:
                    progress(done, n_chunks)
        convert_seconds = time.perf_counter() - started
        _assemble(bundle, reader, directory, out_path, n_chunks=n_chunks, chunk_size=chunk_size, dtype=dtype)
    shutil.rmtree(directory, ignore_errors=True)
    return {
        "output": str(out_path),
        "n_profiles": int(n_cols),
        "n_genes": len(bundle.output_entrez_ids),
        "chunks": n_chunks,
        "chunks_computed": computed,
        "start_chunk": start_chunk,
        "device": bundle.device.type,
        "seconds": round(time.perf_counter() - started, 3),
        "convert_seconds": round(convert_seconds, 3),
    }


def conversion_description(bundle: Bundle, dtype) -> dict:
    """What produced a converted file's values: model, device, the precision the network ran in, the stored dtype.

    On CUDA the network runs under bfloat16 autocast (Bundle._run); on the CPU in float32.
    """
    return {
        "model_version": bundle.version,
        "device": bundle.device.type,
        "compute_precision": "bf16" if bundle.device.type == "cuda" else "fp32",
        "stored_as": np.dtype(dtype).name,
    }


def read_conversion_description(path: str | Path) -> dict:
    """The conversion_description a converted GCTX carries ({} for any other matrix file)."""
    import h5py

    path = Path(path)
    if path.suffix.lower() != ".gctx" or not path.is_file():
        return {}
    try:
        with h5py.File(path, "r") as f:
            raw = f.attrs.get(CONVERSION_ATTR)
    except OSError:
        return {}
    if raw is None:
        return {}
    return json.loads(raw.decode("utf-8") if isinstance(raw, bytes) else str(raw))


def _assemble(bundle: Bundle, reader, directory: Path, out_path: Path, *, n_chunks: int, chunk_size: int, dtype) -> None:
    """Stream the part files into the final GCTX, one chunk in memory at a time."""
    from conversion.formats.gctx import GctxWriter

    n_cols = reader.shape[0]
    col_meta = reader.col_meta
    carry_meta = col_meta is not None and len(col_meta.columns) > 0
    attrs = {CONVERSION_ATTR: json.dumps(conversion_description(bundle, dtype))}
    with GctxWriter(out_path, bundle.output_entrez_ids, n_cols, row_meta=_output_row_meta(bundle), dtype=np.dtype(dtype).name, attrs=attrs) as writer:
        for index in range(n_chunks):
            lo, hi = index * chunk_size, min((index + 1) * chunk_size, n_cols)
            block = np.load(_part(directory, index), mmap_mode="r")
            if block.shape != (hi - lo, len(bundle.output_entrez_ids)):
                raise ValueError(f"{_part(directory, index)}: expected a part of shape {(hi - lo, len(bundle.output_entrez_ids))}, found {block.shape}; delete {directory} and convert again.")
            writer.write(lo, block, reader.col_ids[lo:hi], col_meta=col_meta.iloc[lo:hi] if carry_meta else None)
