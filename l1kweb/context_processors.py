from django.conf import settings


def site(request):
    return {"DEMO_DATA": settings.DEMO_DATA}
