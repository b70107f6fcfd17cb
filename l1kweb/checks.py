"""System checks for what would otherwise break at run time (ids l1kweb.E/W0xx)."""

from django.conf import settings
from django.core.checks import Error, Warning, register


@register()
def check_data_dir(app_configs, **kwargs):
    path = settings.DATA_DIR
    if path.exists() and not path.is_dir():
        return [Error(f"DATA_DIR {path} exists but is not a directory.", id="l1kweb.E001")]
    return []


@register(deploy=True)
def check_production_services(app_configs, **kwargs):
    problems = []
    if settings.EMBEDDED:
        problems.append(Error("DATABASE_URL is unset: production must use PostgreSQL, not the embedded SQLite.", id="l1kweb.E002"))
    if not settings.CELERY_BROKER_URL:
        problems.append(Error("CELERY_BROKER_URL (or REDIS_URL) is unset: production must run jobs on Celery workers.", id="l1kweb.E003"))
    return problems


@register()
def check_eager_tasks_on_postgres(app_configs, **kwargs):
    if not settings.EMBEDDED and settings.CELERY_TASK_ALWAYS_EAGER:
        return [Warning(
            "DATABASE_URL is set but no broker is: jobs will run inside the web process.",
            hint="Set CELERY_BROKER_URL or REDIS_URL and start a worker.",
            id="l1kweb.W001",
        )]
    return []
