from django.urls import include, path

from search import api_urls, release_views, views

app_name = "search"

urlpatterns = [
    path("", views.home, name="home"),
    path("genes/", views.gene_search, name="gene_search"),
    path("genes/<str:symbol>/", views.gene_page, name="gene"),
    path("genes/<str:symbol>/download.<str:fmt>", views.download, name="download"),
    path("genes/<str:symbol>/perturbagens.<str:fmt>", views.download, {"table": "perturbagens"}, name="download-perturbagens"),
    path("genes/<str:symbol>/mechanisms.<str:fmt>", views.download, {"table": "mechanisms"}, name="download-mechanisms"),
    path("sets/", views.set_search_page, name="sets"),
    path("sets/download.<str:fmt>", views.set_download, name="set-download"),
    path("sets/perturbagens.<str:fmt>", views.set_download, {"table": "perturbagens"}, name="set-download-perturbagens"),
    path("sets/<str:key>/", views.set_result_page, name="set-result"),
    path("sets/<str:key>/download.<str:fmt>", views.set_download, name="set-result-download"),
    path("sets/<str:key>/perturbagens.<str:fmt>", views.set_download, {"table": "perturbagens"}, name="set-result-download-perturbagens"),
    path("signatures/<str:sig_id>/", views.signature_page, name="signature"),
    path("signatures/<str:sig_id>/download.<str:fmt>", views.signature_download, name="signature-download"),
    path("signatures/<str:sig_id>/<str:direction>.txt", views.signature_enrichr, name="signature-enrichr"),
    path("releases/<str:name>/", release_views.release_page, name="release"),
    path("releases/<str:name>/files/<str:filename>", release_views.release_file, name="release-file"),
    path("api/", include(api_urls.urlpatterns)),
]
