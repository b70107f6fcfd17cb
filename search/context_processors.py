from django.conf import settings
from django.core.cache import cache

SYNTHETIC_CACHE_KEY = "l1kweb:active-release-synthetic"


def active_release_is_synthetic() -> bool:
    """Whether the served release was built from synthetic demo data (cached briefly: every page asks)."""
    value = cache.get(SYNTHETIC_CACHE_KEY)
    if value is None:
        from signatures.models import Release

        release = Release.active()
        value = bool(release and release.params.get("synthetic"))
        cache.set(SYNTHETIC_CACHE_KEY, value, 30)
    return value


def site(request):
    # A callable: templates evaluate it only where the banner is rendered.
    return {"DEMO_DATA": lambda: settings.DEMO_DATA or active_release_is_synthetic()}
