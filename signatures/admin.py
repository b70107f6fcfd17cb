"""Admin for releases and signature jobs: recompute, build the index, activate, delete, cancel, resume.

Every action calls the same functions as the management commands
(signatures.compute, signatures.index, Release.activate) and is recorded in
the admin log (LogEntry) with log_change.
"""

from django import forms
from django.contrib import admin, messages
from django.shortcuts import redirect, render
from django.urls import path, reverse

from conversion.models import Dataset
from l1kweb.jobs import JobStateError
from signatures import compute
from signatures.models import Release, SignatureBatch, SignatureJob


class RecomputeForm(forms.Form):
    dataset = forms.ModelChoiceField(queryset=Dataset.objects.all())
    controls = forms.ChoiceField(
        initial="auto",
        choices=[
            ("auto", "Vehicle/vector controls where a batch has enough, else all others"),
            ("all", "All other profiles of the batch but the perturbagen's own"),
            ("vehicle", "Vehicle/vector controls only"),
        ],
    )
    min_replicates = forms.IntegerField(min_value=1, initial=2)
    gamma = forms.FloatField(min_value=0.0, max_value=1.0, initial=1.0, help_text="CD shrinkage; 1 = none.")
    name = forms.SlugField(required=False, help_text="Default: <dataset>-<timestamp>.")


class SignatureJobInline(admin.StackedInline):
    model = SignatureJob
    extra = 0
    can_delete = False
    fields = ("status", "stage", "progress", "chunks_done", "chunks_total", "heartbeat_at", "error", "log")
    readonly_fields = fields


@admin.register(Release)
class ReleaseAdmin(admin.ModelAdmin):
    list_display = ("name", "dataset", "status", "index_built", "is_active", "n_signatures", "n_genes", "created_at")
    list_filter = ("status", "is_active", "index_built")
    readonly_fields = ("name", "dataset", "status", "is_active", "params", "directory", "model_version", "n_signatures", "n_genes", "index_built", "created_by", "created_at", "completed_at", "activated_at")
    inlines = [SignatureJobInline]
    actions = ["activate_release", "build_index", "cancel_jobs", "resume_jobs", "delete_with_files"]
    change_list_template = "admin/signatures/release/change_list.html"

    def has_add_permission(self, request):
        return False  # releases are made by recomputing (the button above the list)

    def has_delete_permission(self, request, obj=None):
        return False  # the "delete with files" action also removes the stores

    def get_urls(self):
        return [path("recompute/", self.admin_site.admin_view(self.recompute_view), name="signatures_release_recompute")] + super().get_urls()

    def recompute_view(self, request):
        if not self.has_change_permission(request):
            return redirect("admin:index")
        form = RecomputeForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            d = form.cleaned_data
            try:
                release = compute.start_release(
                    d["dataset"], controls=d["controls"], min_replicates=d["min_replicates"], gamma=d["gamma"], name=d["name"] or None, user=request.user
                )
            except compute.ComputeError as exc:
                form.add_error(None, str(exc))
            else:
                self.log_addition(request, release, f"Recomputation started from dataset {d['dataset'].name}")
                messages.success(request, f"Release {release.name} is being computed (job {release.job.pk}).")
                return redirect(reverse("admin:signatures_release_change", args=[release.pk]))
        context = {**self.admin_site.each_context(request), "title": "Compute a new release", "form": form, "opts": self.model._meta}
        return render(request, "admin/signatures/release/recompute.html", context)

    def has_delete_files_permission(self, request):
        # The stock delete stays off (it would leave the files behind); this action needs the same right.
        return request.user.has_perm(f"{self.opts.app_label}.delete_{self.opts.model_name}")

    @admin.action(description="Activate (serve in the search)", permissions=["change"])
    def activate_release(self, request, queryset):
        if queryset.count() != 1:
            self.message_user(request, "Select exactly one release to activate.", messages.ERROR)
            return
        release = queryset.get()
        try:
            release.activate()
        except ValueError as exc:
            self.message_user(request, str(exc), messages.ERROR)
            return
        self.log_change(request, release, "Activated")
        self.message_user(request, f"Release {release.name} is now active.")

    @admin.action(description="Build the per-gene index (queued)", permissions=["change"])
    def build_index(self, request, queryset):
        from signatures.tasks import build_release_index

        for release in queryset:
            if release.status != "complete":
                self.message_user(request, f"Release {release.name} is {release.status}; only complete releases can be indexed.", messages.ERROR)
                continue
            build_release_index.delay(release.pk)
            self.log_change(request, release, "Index build queued")
            self.message_user(request, f"Index build queued for {release.name}.")

    @admin.action(description="Cancel the job", permissions=["change"])
    def cancel_jobs(self, request, queryset):
        for release in queryset.select_related("job"):
            job = getattr(release, "job", None)
            if job and job.status in ("queued", "running"):
                job.request_cancel()
                self.log_change(request, release, f"Cancellation of job {job.pk} requested")
                self.message_user(request, f"Cancellation requested for {release.name}.")

    @admin.action(description="Resume the failed or cancelled job", permissions=["change"])
    def resume_jobs(self, request, queryset):
        for release in queryset.select_related("job"):
            try:
                compute.resume_job(release.job, enqueue=True)
            except (JobStateError, SignatureJob.DoesNotExist) as exc:
                self.message_user(request, f"{release.name}: {exc}", messages.ERROR)
                continue
            self.log_change(request, release, f"Job {release.job.pk} resumed")
            self.message_user(request, f"Job for {release.name} resumed; finished batches are kept.")

    @admin.action(description="Delete with files", permissions=["delete_files"])
    def delete_with_files(self, request, queryset):
        for release in queryset:
            if release.is_active:
                self.message_user(request, f"Release {release.name} is active; activate another release before deleting it.", messages.ERROR)
                continue
            self.log_deletions(request, Release.objects.filter(pk=release.pk))  # logged before the rows go
            try:
                compute.delete_release(release)
            except compute.ComputeError as exc:
                self.message_user(request, str(exc), messages.ERROR)
                continue
            self.message_user(request, f"Deleted release {release.name} and its files.")


class SignatureBatchInline(admin.TabularInline):
    model = SignatureBatch
    extra = 0
    can_delete = False
    fields = ("index", "name", "n_profiles", "n_signatures", "status", "seconds", "finished_at")
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(SignatureJob)
class SignatureJobAdmin(admin.ModelAdmin):
    list_display = ("pk", "release", "status", "stage", "progress", "chunks_done", "chunks_total", "heartbeat_at", "created_at")
    list_filter = ("status", "stage")
    readonly_fields = [f.name for f in SignatureJob._meta.fields]
    inlines = [SignatureBatchInline]

    def has_add_permission(self, request):
        return False
