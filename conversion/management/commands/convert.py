"""Convert L1000 profiles to RNA-seq-like profiles with a translator, and register the result as a dataset."""

import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils.text import slugify
from tqdm import tqdm

from conversion.datasets import register_dataset
from conversion.formats import FormatError
from conversion.formats.l1000 import read_inst_info
from conversion.models import ConversionJob, Dataset, DatasetInUse, DatasetKind, TranslatorModel, default_output_name
from conversion.translator.bundle import BundleError
from l1kweb.jobs import JobStateError, JobStatus
from l1kweb.paths import stored_data_path


class Command(BaseCommand):
    help = (
        "Convert DATASET_OR_FILE (a registered dataset name, or an L1000 Level 3 GCTX/GCT file, registered on the way) with "
        "BUNDLE (a bundle file or a registered translator name[:version]) chunk by chunk, as a ConversionJob, and register the "
        "RNA-seq-like output as a dataset. Interrupted? Run the same command again: finished chunks are kept."
    )

    def add_arguments(self, parser):
        parser.add_argument("bundle")
        parser.add_argument("dataset_or_file")
        parser.add_argument("--out", help="Output GCTX (default DATA_DIR/converted/<name>.gctx).")
        parser.add_argument("--name", help="Name of the output dataset (default <dataset>-<translator>-<version>).")
        parser.add_argument("--inst-info", help="Profile metadata for a file input (GEO inst_info); default: the file's own column metadata.")
        parser.add_argument("--chunk-size", type=int, default=20_000, help="Profiles per chunk (one part file each).")
        parser.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
        parser.add_argument("--float16", action="store_true", help="Write float16 values (half the disk; ~3 significant digits).")
        parser.add_argument("--queue", action="store_true", help="Send the job to the gpu queue instead of running it here.")

    def handle(self, *args, **o):
        try:
            translator = self._translator(o["bundle"])
            dataset = self._dataset(o["dataset_or_file"], o["inst_info"])
        except (FormatError, BundleError) as exc:
            raise CommandError(str(exc)) from exc
        if o["chunk_size"] < 1:
            raise CommandError(f"--chunk-size must be a positive integer, found {o['chunk_size']}.")
        name = slugify(o["name"]) if o["name"] else default_output_name(dataset, translator)
        out = stored_data_path(o["out"]) if o["out"] else ""
        job = self._job(dataset, translator, name, out, o)
        if o["queue"]:
            with transaction.atomic():
                job.enqueue()
            self.stdout.write(f"Queued {job} on the gpu queue (job id {job.pk}).")
            return
        self._run(job)

    def _translator(self, spec: str) -> TranslatorModel:
        path = Path(spec)
        if path.is_file():
            existing = TranslatorModel.objects.filter(path=stored_data_path(path)).first()
            return existing or TranslatorModel.register_bundle(path, name=slugify(path.stem) or "translator")
        name, _, version = spec.partition(":")
        models = TranslatorModel.objects.filter(name=name, **({"version": version} if version else {}))
        model = models.order_by("-is_active", "-created_at").first()
        if model is None:
            raise CommandError(f"BUNDLE {spec!r} is neither a bundle file nor a registered translator name[:version].")
        return model

    def _dataset(self, spec: str, inst_info) -> Dataset:
        dataset = Dataset.objects.filter(name=spec).first()
        if dataset is not None:
            return dataset
        path = Path(spec)
        if not path.is_file():
            raise CommandError(f"DATASET_OR_FILE {spec!r} is neither a registered dataset nor an existing file.")
        metadata = read_inst_info(inst_info) if inst_info else None
        dataset = register_dataset(slugify(path.name.split(".")[0]) or "l1000", path, kind=DatasetKind.L1000, metadata=metadata)
        self.stderr.write(f"Registered {path} as dataset {dataset.name} ({dataset.n_profiles} profiles).")
        return dataset

    def _job(self, dataset, translator, name, out, o) -> ConversionJob:
        """Resume the unfinished job with the same input, model and output, or create one."""
        unfinished = ConversionJob.objects.filter(dataset=dataset, translator=translator, output_name=name, output_path=out).exclude(status=JobStatus.DONE)
        job = unfinished.order_by("-created_at").first()
        if job is not None and job.status == JobStatus.RUNNING and not job.is_orphaned:
            raise CommandError(f"{job} is being run by {job.worker or 'another worker'}; wait for it or cancel it in the admin.")
        if job is not None and (job.chunk_size, job.float16) == (o["chunk_size"], o["float16"]):
            if job.status != JobStatus.QUEUED:
                job.requeue()
            self.stderr.write(f"Resuming {job} ({job.chunks_done} of {job.chunks_total} chunks done).")
            return job
        job = ConversionJob(dataset=dataset, translator=translator, output_name=name, output_path=out,
                            chunk_size=o["chunk_size"], float16=o["float16"], device=o["device"])
        job.chunks_total = job.plan_chunks()
        try:
            job.save()
        except (JobStateError, DatasetInUse) as exc:
            raise CommandError(str(exc)) from None
        return job

    def _run(self, job: ConversionJob) -> None:
        from conversion.tasks import convert_job

        if not job.claim(worker="manage.py convert"):
            raise CommandError(f"{job} is being run by {job.worker or 'another worker'}; wait for it or cancel it in the admin.")
        bar = tqdm(total=job.chunks_total, initial=job.chunks_done, unit="chunk", desc="convert", file=sys.stderr, disable=None)

        def progress(done, total):
            bar.total = total
            bar.n = done
            bar.refresh()

        try:
            result = convert_job(job, progress=progress)
        except (FormatError, BundleError, ValueError, OSError) as exc:
            job.fail(str(exc))
            raise CommandError(str(exc)) from exc
        except BaseException:
            # Interrupted (Ctrl-C, a kill we can see): let the next run resume at once.
            job.fail("Interrupted; run the same command again to resume.")
            raise
        finally:
            bar.close()
        job.refresh_from_db()
        self.stdout.write(job.log.strip().splitlines()[-1].split("] ", 1)[-1])
        self.stdout.write(f"Output dataset {job.output.name}: {job.output.file} (job {result['job']}).")
