"""Build the demo end to end; each step is skipped when its result already exists.

synthetic world -> gene registry -> L1000 dataset -> small translator ->
RNA-seq-like dataset -> signatures release -> index -> active release ->
evaluation against the planted TF target sets (evaluate_signatures) -> admin.

With the embedded default (SQLite, no broker) every step runs in this
process. With DATABASE_URL and a broker set, conversion and signature batches
go to the Celery workers and this command follows their jobs until done.
"""

import json
import os
import secrets
import time
from contextlib import contextmanager
from pathlib import Path

import pandas as pd
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from conversion.files import atomic_path
from conversion.models import ConversionJob, Dataset, TranslatorModel
from l1kweb.celery import app as celery_app
from search.demo_status import write_status
from l1kweb.jobs import JobStatus
from signatures.models import GeneTopEntry, Release, ReleaseStatus

# Translator size per world size: `small` trains in a few minutes on 2 cores.
TRANSLATOR_SIZE = {"tiny": "tiny", "demo": "small"}
# Epoch budgets of the demo's training (CycleGAN, extrapolator), where they differ from the size's.
# 25 and 25 rather than the small size's 60 and 60: half the time, and the planted effects are found
# more often, not less (bench/bench_planted_recall.py, docs/benchmarks.md).
DEMO_EPOCHS = {"demo": {"epochs": 25, "max_epochs_step2": 25}}
ADMIN_USER = "admin"
PERT_TYPES = {"trt_cp": "chemical", "trt_xpr": "crispr"}  # the world's treatment types


class Command(BaseCommand):
    help = (
        "Build the demo: synthetic data, gene registry, a small translator, conversion, signatures, index, active "
        "release and a demo admin account. Re-running skips every step that is already built."
    )

    def add_arguments(self, parser):
        parser.add_argument("--size", choices=sorted(TRANSLATOR_SIZE), default="demo", help="Synthetic world size (default: demo).")
        parser.add_argument("--seed", type=int, default=0, help="Seed of the synthetic world and the training (default 0).")
        parser.add_argument("--epochs", type=int, help="The translator's CycleGAN epochs (default: 25 for size demo, the size's own otherwise).")
        parser.add_argument("--max-epochs-step2", type=int, help="Upper bound on the extrapolator's epochs (default: 25 for size demo).")

    def handle(self, *args, **opts):
        size, seed = opts["size"], opts["seed"]
        self.prefix = f"demo-{size}" if seed == 0 else f"demo-{size}-s{seed}"
        self.root = Path(settings.DATA_DIR) / "demo" / self.prefix
        self.root.mkdir(parents=True, exist_ok=True)
        self.timings: list[tuple[str, float, bool]] = []  # (step, seconds, skipped)
        self._threads = self._torch_threads()
        started = time.perf_counter()
        call_command("migrate", interactive=False, verbosity=0)
        try:
            with self._timed("synthetic world"):
                world = self._world(size, seed)
            with self._timed("gene registry"):
                self._genes(world)
            with self._timed("L1000 dataset"):
                l1000 = self._l1000_dataset(world)
            with self._timed("translator training"):
                translator = self._translator(world, l1000, size, seed, opts)
            with self._timed("translator evaluation"):
                self._evaluation(world, translator)
            with self._timed("conversion"):
                converted = self._conversion(l1000, translator)
            with self._timed("signatures, index, activation"):
                release = self._release(converted)
            with self._timed("signature evaluation"):
                evaluation = self._signature_evaluation(world, release)
            password = self._admin()
        finally:
            write_status(None)
        self._summary(world, release, password, evaluation)
        self._timing_table(time.perf_counter() - started)

    # --- progress --------------------------------------------------------

    STEPS = (
        "synthetic world", "gene registry", "L1000 dataset", "translator training", "translator evaluation", "conversion",
        "signatures, index, activation", "signature evaluation",
    )

    @contextmanager
    def _timed(self, name: str):
        """Time one step, and tell the home page (served while the demo builds) which step runs."""
        write_status({"step": self.STEPS.index(name) + 1, "of": len(self.STEPS), "doing": name})
        skipped_before = self._skipped
        t = time.perf_counter()
        yield
        self.timings.append((name, time.perf_counter() - t, self._skipped > skipped_before))

    def _timing_table(self, total: float) -> None:
        self.stdout.write(f"\nDemo steps ({self._threads} PyTorch threads on {os.cpu_count()} cores):")
        width = max(len(name) for name, _, _ in self.timings)
        for name, seconds, skipped in self.timings:
            self.stdout.write(f"  {name:<{width}}  {seconds:7.1f} s{'  (already built)' if skipped else ''}")
        self.stdout.write(f"  {'total':<{width}}  {total:7.1f} s")

    def _torch_threads(self) -> int:
        """PyTorch threads for training and conversion: the cores other processes leave free.

        PyTorch starts one thread per core; when another process keeps a core
        busy, a thread per core makes every step wait for the slowest thread.
        The free cores are the cores this process may use minus the 1-minute
        load average, at least one.
        """
        import torch

        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
        busy = int(os.getloadavg()[0] + 0.5) if hasattr(os, "getloadavg") else 0
        threads = max(1, min(cores, cores - busy))
        torch.set_num_threads(threads)
        return threads

    # --- steps -----------------------------------------------------------

    def _world(self, size: str, seed: int) -> dict:
        world_dir = self.root / "world"
        manifest = world_dir / "manifest.json"
        if manifest.is_file():
            self._skip(f"synthetic world ({world_dir})")
        else:
            self._step(f"Generating the synthetic world (size {size}, seed {seed})")
            call_command("make_demo_data", str(world_dir), size=size, seed=seed, layout="lincs2020")
        world = json.loads(manifest.read_text())
        for key, ids in (("output_genes_file", "output_entrez_ids"), ("landmarks_file", "landmark_entrez_ids")):
            listed = world_dir / f"{ids}.txt"
            if not listed.is_file():
                with atomic_path(listed) as tmp:
                    tmp.write_text("".join(f"{g}\n" for g in world[ids]))
            world[key] = str(listed)
        return world

    def _genes(self, world: dict) -> None:
        self._step("Importing the gene registry (idempotent)")
        call_command("import_genes", world["geneinfo_beta"], ncbi=world["ncbi_gene_info"], output_genes=world["output_genes_file"])

    def _l1000_dataset(self, world: dict) -> Dataset:
        name = f"{self.prefix}-l1000"
        dataset = Dataset.objects.filter(name=name).first()
        if dataset is not None:
            self._skip(f"L1000 dataset {name}")
            return dataset
        # The LINCS 2020 layout: controls and each treatment type in files of their own, one dataset.
        self._step(f"Importing the L1000 Level 3 profiles ({len(world['level3_files'])} files, LINCS 2020 layout) as dataset {name}")
        call_command("import_l1000", *world["level3_files"], inst_info=world["instinfo_beta"], gene_info=world["geneinfo_beta"],
                     compound_info=world["compoundinfo_beta"], name=name, description="Synthetic L1000 Level 3 profiles (demo).")
        return Dataset.objects.get(name=name)

    def _translator(self, world: dict, l1000: Dataset, size: str, seed: int, opts) -> TranslatorModel:
        name = f"{self.prefix}-translator"
        model = TranslatorModel.objects.filter(name=name).order_by("-created_at").first()
        if model is not None and model.file.is_file():
            self._skip(f"translator {model}")
            if not model.is_active:
                model.activate()
            return model
        bundle = self.root / "translator.pt"
        self._step(f"Training the {TRANSLATOR_SIZE[size]} two-step translator (CycleGAN, then extrapolator)")
        extra = {**DEMO_EPOCHS.get(size, {}), **{k: opts[k] for k in ("epochs", "max_epochs_step2") if opts.get(k) is not None}}
        call_command(
            "train_translator", l1000=str(l1000.file), rnaseq=world["archs4"], out=str(bundle), size=TRANSLATOR_SIZE[size],
            device="auto", gene_info=world["ncbi_gene_info"], landmarks=world["landmarks_file"], output_genes=world["output_genes_file"], seed=seed,
            register=name, activate=True, **extra,
        )
        return TranslatorModel.objects.filter(name=name).order_by("-created_at").first()

    def _evaluation(self, world: dict, translator: TranslatorModel) -> None:
        """Score the translator on the world's paired set; the bundle then carries each gene's reliability,
        which the release copies and every gene page shows."""
        from conversion.translator.bundle import read_reliability

        if read_reliability(translator.file):
            self._skip(f"paired evaluation of {translator}")
            return
        self._step(f"Evaluating {translator} on the paired L1000/RNA-seq set")
        call_command("evaluate_translator", str(translator.file), l1000=world["gtex_l1000"], rnaseq=world["gtex_rnaseq"], out=str(self.root / "evaluation"))

    def _conversion(self, l1000: Dataset, translator: TranslatorModel) -> Dataset:
        name = f"{self.prefix}-rnaseq-like"
        dataset = Dataset.objects.filter(name=name).first()
        if dataset is not None:
            self._skip(f"RNA-seq-like dataset {name}")
            return dataset
        queued = not celery_app.conf.task_always_eager
        self._step(f"Converting {l1000.n_profiles} profiles with {translator}" + (" on the gpu queue" if queued else ""))
        call_command("convert", f"{translator.name}:{translator.version}", l1000.name, name=name, queue=queued)
        if queued:
            job = ConversionJob.objects.filter(output_name=name).latest("created_at")
            self._follow(job)
        dataset = Dataset.objects.filter(name=name).first()
        if dataset is None:
            raise CommandError(f"The conversion finished but registered no dataset {name}; see the ConversionJob in the admin.")
        return dataset

    def _release(self, dataset: Dataset) -> Release:
        name = f"{self.prefix}-signatures"
        release = Release.objects.filter(name=name).first()
        if release is None:
            self._step(f"Computing CD and log2FC signatures from {dataset.name}")
            call_command("compute_signatures", dataset.name, release=name)
        elif release.status != ReleaseStatus.COMPLETE:
            self._step(f"Resuming the signature computation of release {name}")
            call_command("compute_signatures", dataset.name, resume=name)
        else:
            self._skip(f"signatures of release {name}")
        release = Release.objects.get(name=name)
        if release.status != ReleaseStatus.COMPLETE and not celery_app.conf.task_always_eager:
            self._follow(release.job)
            release.refresh_from_db()
        if release.status != ReleaseStatus.COMPLETE:
            raise CommandError(f"Release {name} is {release.status}; see its job in the admin.")
        if not release.index_built:
            self._step(f"Building the per-gene index of {name}")
            call_command("build_index", name)
            release.refresh_from_db()
        if not release.params.get("synthetic"):
            # Every page then carries the synthetic-data banner, whatever the settings.
            release.params = {**release.params, "synthetic": True}
            release.save(update_fields=["params"])
        if not release.is_active:
            call_command("activate_release", name)
            release.refresh_from_db()
        else:
            self._skip(f"activation of {name}")
        return release

    def _signature_evaluation(self, world: dict, release: Release) -> Path | None:
        """Where the world's planted TF target sets rank in their knockouts' signatures (evaluate_signatures).

        Run every time, as it takes about a second; None for a world written
        before the sets were (no tf_targets.gmt beside its manifest).
        """
        from conversion.synthetic import TF_TARGETS_FILE

        gmt = Path(world["truth"]).parent / TF_TARGETS_FILE
        if not gmt.is_file():
            self.stdout.write(f"==> No {TF_TARGETS_FILE} in the world (written before the sets were); signature evaluation left out")
            return None
        out = self.root / "signature-evaluation"
        out.mkdir(exist_ok=True)
        self._step(f"Evaluating {release.name} against the planted TF target sets")
        call_command("evaluate_signatures", release.name, sets=str(gmt), out=str(out / "report.html"), tsv=str(out / "table.tsv"))
        return out / "report.html"

    def _admin(self) -> str:
        credentials = self.root.parent / "admin-password.txt"
        User = get_user_model()
        if credentials.is_file() and User.objects.filter(username=ADMIN_USER).exists():
            return credentials.read_text().strip()
        password = secrets.token_urlsafe(12)
        user = User.objects.filter(username=ADMIN_USER).first() or User(username=ADMIN_USER, email="admin@localhost")
        user.is_staff = user.is_superuser = True
        user.set_password(password)
        user.save()
        credentials.write_text(password + "\n")
        credentials.chmod(0o600)
        return password

    # --- output ------------------------------------------------------------

    def _summary(self, world: dict, release: Release, password: str, evaluation: Path | None) -> None:
        example = self._example(world, release)
        port = os.environ.get("PORT", "8000")  # bin/demo serves on $PORT
        kind = PERT_TYPES[example["pert_type"]]
        self.stdout.write(self.style.SUCCESS(
            f"\nThe demo is ready: release {release.name}, {release.n_signatures} signatures x {release.n_genes} genes."
        ))
        self.stdout.write(f"  Search:  http://127.0.0.1:{port}/genes/{example['symbol']}/?type={kind}&cell_line={example['cell_id']}")
        self.stdout.write(f"           (planted: {example['pert_iname']} pushes {example['symbol']} {example['direction']} in {example['cell_id']})")
        self.stdout.write(f"  Admin:   http://127.0.0.1:{port}/admin/   user {ADMIN_USER}, password {password}")
        if evaluation is not None:
            self.stdout.write(f"  Report:  {evaluation} (planted TF target sets in their knockouts' signatures)")
        self.stdout.write(f"  Data:    {self.root}")

    def _example(self, world: dict, release: Release):
        """A planted effect on a gene L1000 does not measure, to point a newcomer at.

        The strongest such effect whose perturbagen tops the gene's precomputed
        list in the planted cell line, so that the link shows what was planted;
        the strongest one overall if none does.
        """
        truth = pd.read_csv(world["truth"], sep="\t")
        candidates = truth[~truth["is_landmark"].astype(bool)].sort_values("effect", key=abs, ascending=False)
        for effect in candidates.head(40).itertuples():
            top = (
                GeneTopEntry.objects.filter(
                    release=release, gene_id=effect.entrez_id, pert_type=PERT_TYPES[effect.pert_type],
                    direction=effect.direction, signature__cell_line__name=effect.cell_id, top_cd=True,
                )
                .order_by("-cd" if effect.direction == "up" else "cd")
                .values_list("signature__pert_id", flat=True)[:1]
            )
            if list(top) == [effect.pert_id]:
                return effect._asdict()
        return candidates.iloc[0].to_dict()

    def _follow(self, job) -> None:
        """Wait for a job run by the Celery workers, showing its progress."""
        last = None
        waited = 0
        while True:
            job.refresh_from_db()
            line = f"  {type(job).__name__} {job.pk}: {job.status}, {job.chunks_done}/{job.chunks_total} chunks"
            if line != last:
                self.stdout.write(line)
                last = line
            if job.status == JobStatus.DONE:
                return
            if job.status in (JobStatus.FAILED, JobStatus.CANCELLED):
                raise CommandError(f"{type(job).__name__} {job.pk} {job.status}: {job.error or 'no error recorded'}")
            time.sleep(2)
            waited += 2
            if waited == 60 and job.status == JobStatus.QUEUED:
                self.stdout.write("  No worker has taken it yet: is one running? (docs/deployment.md: celery -A l1kweb worker -Q ...)")

    def _step(self, message: str) -> None:
        self.stdout.write(self.style.MIGRATE_HEADING(f"==> {message}"))

    _skipped = 0

    def _skip(self, what: str) -> None:
        self._skipped += 1
        self.stdout.write(f"==> {what}: already built, skipped")

