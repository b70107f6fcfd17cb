from django.conf import settings


def site(request):
    """DEMO_DATA: the demo banner's condition, a callable that templates evaluate only where the banner is rendered."""

    def demo_data() -> bool:
        from search.response_cache import active_release

        release = active_release(request)
        return settings.DEMO_DATA or bool(release and release.params.get("synthetic"))

    return {"DEMO_DATA": demo_data}
