from django.urls import path
from drf_spectacular.views import SpectacularAPIView

from search import api, api_docs

urlpatterns = [
    path("genes/", api.GeneListView.as_view(), name="api-genes"),
    path("genes/<str:symbol>/", api.GeneDetailView.as_view(), name="api-gene"),
    path("genes/<str:symbol>/signatures/", api.GeneSignaturesView.as_view(), name="api-gene-signatures"),
    path("genes/<str:symbol>/perturbagens/", api.GenePerturbagensView.as_view(), name="api-gene-perturbagens"),
    path("genes/<str:symbol>/mechanisms/", api.GeneMechanismsView.as_view(), name="api-gene-mechanisms"),
    path("signatures/<str:sig_id>/", api.SignatureDetailView.as_view(), name="api-signature"),
    path("cell-lines/", api.CellLineListView.as_view(), name="api-cell-lines"),
    path("perturbation-types/", api.PertTypeListView.as_view(), name="api-pert-types"),
    path("sets/search/", api.SetSearchView.as_view(), name="api-set-search"),
    path("sets/<str:key>/", api.SetResultView.as_view(), name="api-set-result"),
    path("table/<str:kind>/<str:direction>/<str:symbol>", api.CompatTableView.as_view(), name="api-compat-table"),
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("docs/", api_docs.api_docs, name="api-docs"),
]
