from django.shortcuts import render

from signatures.models import Release


def home(request):
    return render(request, "search/home.html", {"release": Release.active()})
