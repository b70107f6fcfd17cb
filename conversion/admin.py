"""Admin for datasets, the translator registry, conversion and training jobs.

Register an input matrix by path or upload, import a model bundle and make it
active, start a (re)conversion with a chosen model or a training run and watch
its progress, cancel or resume it. Every state change goes through the same functions the
commands use (register_dataset, TranslatorModel.register_bundle/activate,
ConversionJob.start/resume) and is recorded in the admin log (LogEntry).
"""

import itertools
from pathlib import Path

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.utils.html import format_html

from conversion.datasets import register_dataset
from conversion.files import atomic_path
from conversion.formats import FormatError
from conversion.formats.l1000 import read_inst_info
from conversion.models import ConversionJob, Dataset, DatasetInUse, DatasetKind, TrainingJob, TranslatorModel, default_output_name
from l1kweb.paths import PathNotAllowed, allowed_path
from conversion.translator.bundle import BundleError, load_bundle
from l1kweb.jobs import JobStateError, JobStatus

UPLOADS = "uploads"


def store_upload(upload, subdir: str) -> Path:
    """Copy an uploaded file under DATA_DIR/uploads/<subdir>/, never over an existing file.

    The upload keeps its name unless a file of that name is there (a dataset or
    bundle may use it): then it becomes <stem>-2<suffix>, -3, ... The copy is
    written under a temporary name and linked to its final name only if that
    name is free (os.link fails on an existing file, so two uploads at once
    cannot take the same name).
    """
    name = Path(upload.name).name
    folder = Path(settings.DATA_DIR) / UPLOADS / subdir
    folder.mkdir(parents=True, exist_ok=True)
    stem, dot, suffix = name.partition(".") if not name.startswith(".") else (name, "", "")
    copy = atomic_path(folder / name)
    try:
        with open(copy.tmp, "wb") as fh:
            for chunk in upload.chunks():
                fh.write(chunk)
    except BaseException:
        copy.discard()
        raise
    target = copy.commit_new(folder / (name if n == 1 else f"{stem}-{n}{dot}{suffix}") for n in itertools.count(1))
    return target


def check_file_field(form: forms.Form, field: str, path: str) -> None:
    """A form's server path must be a readable file under DATA_DIR or an import root.

    The errors name the path as typed and say nothing of its content, nor
    whether a path outside those folders exists.
    """
    try:
        resolved = allowed_path(path)
    except PathNotAllowed as exc:
        form.add_error(field, str(exc))
        return
    if not resolved.is_file():
        form.add_error(field, f"No file at {path}.")


class _PathOrUpload(forms.ModelForm):
    """A file named by a server path or uploaded through the browser (exactly one of the two)."""

    path = forms.CharField(required=False, help_text="A path on the server; relative paths are under DATA_DIR.")
    upload = forms.FileField(required=False, help_text="Or upload the file.")
    upload_dir = "files"

    def clean(self):
        data = super().clean()
        path, upload = data.get("path"), data.get("upload")
        if bool(path) == bool(upload):
            raise forms.ValidationError("Give either a server path or an upload, not both and not neither.")
        if path:
            check_file_field(self, "path", path)
        return data

    def file_path(self) -> Path:
        data = self.cleaned_data
        if data.get("upload"):
            if not getattr(self, "_stored", None):
                self._stored = store_upload(data["upload"], self.upload_dir)
            return self._stored
        return allowed_path(data["path"])


class DatasetRegisterForm(_PathOrUpload):
    inst_info = forms.FileField(required=False, help_text="Optional GEO inst_info TSV; default: the matrix's own column metadata.")
    upload_dir = "datasets"

    class Meta:
        model = Dataset
        fields = ["name", "kind", "description"]

    def clean(self):
        data = super().clean()
        if self.errors:
            return data
        try:
            metadata = None
            if data.get("inst_info"):
                metadata = read_inst_info(store_upload(data["inst_info"], f"{self.upload_dir}/{data['name']}"))
            self.registered = register_dataset(data["name"], self.file_path(), kind=data["kind"], metadata=metadata, description=data.get("description", ""))
        except (FormatError, DatasetInUse) as exc:
            if data.get("upload"):
                self.file_path().unlink(missing_ok=True)  # the refused upload is not kept
            raise forms.ValidationError(str(exc)) from exc
        return data

    def validate_unique(self):
        pass  # register_dataset creates or updates the row by name


class AddFormAdmin(admin.ModelAdmin):
    """A row is created through `add_form` (with `add_fields`, if given); afterwards its fields are read-only."""

    add_form: type[forms.ModelForm]
    add_fields: tuple[str, ...] | None = None

    def get_form(self, request, obj=None, **kwargs):
        if obj is None:
            kwargs["form"] = self.add_form
            if self.add_fields is not None:
                kwargs["fields"] = list(self.add_fields)
        return super().get_form(request, obj, **kwargs)

    def get_readonly_fields(self, request, obj=None):
        return self.readonly_fields if obj else ()


@admin.register(Dataset)
class DatasetAdmin(AddFormAdmin):
    list_display = ("name", "kind", "n_profiles", "n_genes", "source", "translator", "created_at")
    list_filter = ("kind",)
    search_fields = ("name", "description")
    readonly_fields = ("name", "kind", "path", "metadata_path", "n_profiles", "n_genes", "source", "translator", "created_at")

    add_form = DatasetRegisterForm
    add_fields = ("name", "kind", "path", "upload", "inst_info", "description")

    def save_model(self, request, obj, form, change):
        if change:
            obj.save()
            return
        # The form registered the dataset (file checked, metadata written); adopt that row.
        obj.pk = form.registered.pk
        obj.refresh_from_db()


class BundleImportForm(_PathOrUpload):
    activate = forms.BooleanField(required=False, help_text="Make it the active translator for new conversions.")
    upload_dir = "models"

    class Meta:
        model = TranslatorModel
        fields = ["name", "description"]

    def clean(self):
        data = super().clean()
        if self.errors:
            return data
        try:
            self.bundle_version = load_bundle(self.file_path()).version
        except BundleError as exc:
            raise forms.ValidationError(str(exc)) from exc
        return data

    def validate_unique(self):
        pass  # (name, version) comes from the bundle; register_bundle updates an existing row


@admin.register(TranslatorModel)
class TranslatorModelAdmin(AddFormAdmin):
    list_display = ("name", "version", "size", "is_active", "created_at", "sample_pcc")
    list_filter = ("is_active", "size")
    readonly_fields = ("name", "version", "path", "size", "metrics", "is_active", "created_at")
    actions = ["make_active"]

    add_form = BundleImportForm
    add_fields = ("name", "path", "upload", "activate", "description")

    def save_model(self, request, obj, form, change):
        if change:
            obj.save()
            return
        model = TranslatorModel.register_bundle(form.file_path(), name=form.cleaned_data["name"], description=form.cleaned_data["description"],
                                                activate=form.cleaned_data["activate"])
        obj.pk = model.pk
        obj.refresh_from_db()

    @admin.display(description="two-step sample PCC (median)")
    def sample_pcc(self, obj):
        try:
            return round(obj.metrics["all_genes"]["two-step model"]["sample_pcc"]["median"], 3)
        except (KeyError, TypeError):
            return "-"

    @admin.action(description="Make active (used for new conversions)", permissions=["change"])
    def make_active(self, request, queryset):
        if queryset.count() != 1:
            self.message_user(request, "Select exactly one translator to make active.", messages.ERROR)
            return
        model = queryset.get()
        model.activate()
        self.log_change(request, model, "Made active")
        self.message_user(request, f"{model} is now the active translator.")


class ConversionJobForm(forms.ModelForm):
    class Meta:
        model = ConversionJob
        fields = ["dataset", "translator", "output_name", "chunk_size", "float16", "device"]
        widgets = {"device": forms.Select(choices=[("auto", "auto (GPU if present)"), ("cuda", "cuda"), ("cpu", "cpu")])}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["dataset"].queryset = Dataset.objects.filter(kind=DatasetKind.L1000)
        self.fields["translator"].initial = TranslatorModel.active()
        self.fields["output_name"].help_text = "Name of the output dataset; default <dataset>-<translator>-<version>. Reusing a name reconverts it, unless a release was built from that output."

    def clean(self):
        data = super().clean()
        if data.get("dataset") and data.get("translator"):
            draft = ConversionJob(dataset=data["dataset"], translator=data["translator"], output_name=data.get("output_name") or "")
            draft.output_name = draft.output_name or default_output_name(draft.dataset, draft.translator)
            other = draft.job_writing_the_same_output()
            if other is not None:
                raise forms.ValidationError(f"{other} is {other.status} and writes {draft.output_name_or_path}; wait for it or cancel it first.")
            try:
                draft.refuse_an_output_in_use()
            except DatasetInUse as exc:
                raise forms.ValidationError(str(exc)) from None
        return data


class JobAdmin(AddFormAdmin):
    """A job is created through `add_form`, then read-only: it changes only through the actions."""

    actions = ["cancel", "resume"]

    def get_fields(self, request, obj=None):
        return self.readonly_fields if obj else self.add_form.Meta.fields

    def has_delete_permission(self, request, obj=None):
        return False  # the job table is the record of what produced each dataset and model

    @admin.display(description="progress")
    def progress_bar(self, obj):
        return format_html('<progress value="{}" max="100"></progress> {}%', round(obj.progress * 100), round(obj.progress * 100))

    @admin.action(description="Cancel (running jobs stop after their current chunk)", permissions=["change"])
    def cancel(self, request, queryset):
        for job in queryset.filter(status__in=[JobStatus.QUEUED, JobStatus.RUNNING]):
            job.request_cancel()
            self.log_change(request, job, "Cancellation requested")
        self.message_user(request, "Cancellation requested; finished chunks are kept for a resume.")

    @admin.action(description="Resume (failed, cancelled or orphaned jobs; finished chunks are kept)", permissions=["change"])
    def resume(self, request, queryset):
        for job in queryset:
            try:
                job.resume()
            except JobStateError as exc:
                self.message_user(request, str(exc), messages.ERROR)
                continue
            self.log_change(request, job, "Resumed")
            self.message_user(request, f"{job} queued again.")


@admin.register(ConversionJob)
class ConversionJobAdmin(JobAdmin):
    list_display = ("id", "dataset", "translator", "status", "progress_bar", "chunks", "created_by", "created_at", "finished_at")
    list_filter = ("status",)
    list_select_related = ("dataset", "translator", "created_by")
    readonly_fields = ("dataset", "translator", "output", "output_name", "output_path", "chunk_size", "float16", "device", "status", "progress_bar",
                       "chunks_done", "chunks_total", "worker", "created_by", "created_at", "started_at", "heartbeat_at", "finished_at",
                       "cancel_requested", "error", "log")
    add_form = ConversionJobForm
    actions = ["cancel", "resume", "reconvert"]

    def save_model(self, request, obj, form, change):
        if change:
            return  # jobs change only through the actions
        obj.created_by = request.user
        obj.chunks_total = obj.plan_chunks()
        obj.save()
        obj.enqueue()

    @admin.display(description="chunks")
    def chunks(self, obj):
        return f"{obj.chunks_done}/{obj.chunks_total}"

    @admin.action(description="Reconvert with the active translator (a new job)", permissions=["change"])
    def reconvert(self, request, queryset):
        translator = TranslatorModel.active()
        if translator is None:
            self.message_user(request, "No translator is active: make one active first.", messages.ERROR)
            return
        for old in queryset.select_related("dataset"):
            try:
                job = ConversionJob.start(old.dataset, translator, user=request.user, chunk_size=old.chunk_size, float16=old.float16, device=old.device)
            except (JobStateError, DatasetInUse) as exc:
                self.message_user(request, str(exc), messages.ERROR)
                continue
            self.log_addition(request, job, f"Reconversion of {old.dataset.name} with {translator} (after job {old.pk})")
            self.message_user(request, f"{job} queued.")


class TrainingJobForm(forms.ModelForm):
    class Meta:
        model = TrainingJob
        fields = ["name", "version", "size", "device", "l1000_path", "rnaseq_path", "gene_info_path", "output_genes_path",
                  "paired_l1000_path", "paired_rnaseq_path", "epochs", "max_epochs_step2", "lambda_identity", "max_l1000",
                  "max_rnaseq", "seed", "activate"]
        widgets = {"device": forms.Select(choices=[("auto", "auto (GPU if present)"), ("cuda", "cuda"), ("cpu", "cpu")])}

    def clean(self):
        data = super().clean()
        for field in ("l1000_path", "rnaseq_path", "gene_info_path", "output_genes_path", "paired_l1000_path", "paired_rnaseq_path"):
            if data.get(field):
                check_file_field(self, field, data[field])
        if bool(data.get("paired_l1000_path")) != bool(data.get("paired_rnaseq_path")):
            raise forms.ValidationError("Give both files of the paired set, or neither.")
        return data


@admin.register(TrainingJob)
class TrainingJobAdmin(JobAdmin):
    list_display = ("id", "name", "version", "size", "status", "progress_bar", "epochs_done", "translator", "created_by", "created_at")
    list_filter = ("status", "size")
    readonly_fields = (*TrainingJobForm.Meta.fields, "status", "progress_bar", "chunks_done", "chunks_total", "translator", "worker",
                       "created_by", "created_at", "started_at", "heartbeat_at", "finished_at", "cancel_requested", "error", "log")
    add_form = TrainingJobForm

    def save_model(self, request, obj, form, change):
        if change:
            return
        obj.created_by = request.user
        obj.save()
        obj.enqueue()

    @admin.display(description="epochs")
    def epochs_done(self, obj):
        return f"{obj.chunks_done}/{obj.chunks_total}"
