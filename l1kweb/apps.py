from django.apps import AppConfig


class L1kwebConfig(AppConfig):
    name = "l1kweb"
    verbose_name = "l1kweb"

    def ready(self):
        from l1kweb import checks  # noqa: F401  (registers the system checks)
