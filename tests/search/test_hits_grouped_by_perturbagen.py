"""A gene's hits grouped by perturbagen equal a plain recount over every signature of each perturbagen."""

import statistics

import numpy as np
import pytest

from search.perturbagens import group_by_perturbagen
from search.query import SearchParams, run_lists
from tests.search.factories import CELL_LINES, make_release


@pytest.fixture
def world(db, data_dir):
    # 60 signatures of 12 perturbagens: each perturbagen has 5 signatures in several cell lines.
    return make_release(data_dir, n_sigs=60, top_n=8, n_perturbagens=12)


def _passes(s, params):
    return (
        (not params.cell_lines or s.cell_line.name in params.cell_lines)
        and (params.dose is None or s.dose == params.dose)
        and (params.time is None or s.time == params.time)
    )


def _expected(world, symbol, pert_id, pert_type, direction, params):
    col = world.column_of(symbol)
    sigs = [s for s in world.signatures if (s.pert_id, s.pert_type) == (pert_id, pert_type) and _passes(s, params)]
    cds = [float(world.cd[s.column, col]) for s in sigs]
    fcs = [float(world.logfc[s.column, col]) for s in sigs]
    agree = [(c > 0) if direction == "up" else (c < 0) for c in cds]
    cells = {}
    for s, ok in zip(sigs, agree):
        cells.setdefault(s.cell_line.name, []).append(ok)
    return {
        "n_signatures": len(sigs), "n_agree": sum(agree), "n_cell_lines": len(cells),
        "n_cell_lines_agree": sum(1 for v in cells.values() if sum(v) > len(v) / 2),
        "median_cd": statistics.median(cds), "median_logfc": statistics.median(fcs), "cell_lines": tuple(sorted(cells)),
    }


@pytest.mark.parametrize(
    "params",
    [SearchParams(limit=8), SearchParams(limit=20, cell_lines=(CELL_LINES[0], CELL_LINES[2])), SearchParams(limit=20, dose=10.0), SearchParams(limit=20, time=24.0)],
    ids=["index", "cell-lines", "dose", "time"],
)
def test_groups_equal_a_recount(world, params):
    gene = world.genes["TP53"]
    lists = [(("chemical",), "up"), (("chemical",), "down"), (("crispr",), "down")]
    hit_lists = run_lists(world.release, gene, params, lists)
    grouped = group_by_perturbagen(world.release, gene, params, hit_lists)
    assert len(grouped) == len(hit_lists)
    for hl, groups in zip(hit_lists, grouped):
        listed_order = list(dict.fromkeys(h.signature.pert_id for h in hl.hits))
        assert [g.pert_id for g in groups] == listed_order
        for g in groups:
            mine = [h for h in hl.hits if h.signature.pert_id == g.pert_id]
            assert g.best_position == mine[0].position and g.n_listed == len(mine)
            expected = _expected(world, "TP53", g.pert_id, g.pert_type, hl.direction, params)
            got = {k: getattr(g, k) for k in expected}
            assert got == pytest.approx(expected, rel=1e-6)
            assert g.n_signatures >= g.n_listed
    assert any(g.n_signatures > 1 for groups in grouped for g in groups), "perturbagens with several signatures are grouped"


def test_the_perturbagens_signatures_are_read_once_per_release(world, django_assert_num_queries):
    from search.perturbagens import perturbagen_index

    with django_assert_num_queries(1):
        index = perturbagen_index(world.release)
    with django_assert_num_queries(0):
        assert perturbagen_index(world.release) is index
    for s in world.signatures:
        i = index.code[(s.pert_id, s.pert_type)]
        at = list(index.columns[index.start[i] : index.start[i + 1]])
        assert s.column in at and at == sorted(at)
        assert index.cell_line[index.start[i] + at.index(s.column)] == s.cell_line_id
    assert index.start[-1] == len(world.signatures) == len(index.columns)


def test_no_hits_no_groups(world):
    gene = world.genes["NOTOUT1"]  # not in the store: no signature holds it
    params = SearchParams(limit=5)
    hit_lists = run_lists(world.release, gene, params, [(("chemical",), "up")])
    assert group_by_perturbagen(world.release, gene, params, hit_lists) == [[]]


def test_api_page_and_download_show_the_same_groups(world, client):
    gene = world.genes["TP53"]
    params = SearchParams(limit=8)
    (hl,) = run_lists(world.release, gene, params, [(("chemical",), "down")])
    (groups,) = group_by_perturbagen(world.release, gene, params, [hl])

    api = client.get("/api/genes/TP53/perturbagens/?type=chemical&direction=down&limit=8")
    assert api.status_code == 200, api.content
    body = api.json()
    assert body["count"] == len(groups) and body["query"]["direction"] == "down"
    assert [r["pert_id"] for r in body["results"]] == [g.pert_id for g in groups]
    first = body["results"][0]
    assert (first["n_signatures"], first["n_agree"], first["median_cd"]) == (groups[0].n_signatures, groups[0].n_agree, pytest.approx(groups[0].median_cd))

    page = client.get("/genes/TP53/?type=chemical&direction=down&limit=8")
    html = page.content.decode()
    assert page.status_code == 200
    assert 'id="perturbagens-chemical-down"' in html
    for g in groups:
        assert f'data-pert="{g.pert_id}"' in html
    assert f"{groups[0].n_agree} of {groups[0].n_signatures}" in html

    download = client.get("/genes/TP53/perturbagens.tsv?type=chemical&direction=down&limit=8")
    assert download.status_code == 200
    assert download["Content-Disposition"].endswith('_perturbagens.tsv"')
    lines = download.content.decode().splitlines()
    assert lines[0].startswith("# l1kweb release") and lines[1].split("\t")[:4] == ["pert_type", "direction", "best_position", "pert_id"]
    assert [line.split("\t")[3] for line in lines[2:]] == [g.pert_id for g in groups]


def test_bad_parameters_are_refused_the_same_way(world, client):
    response = client.get("/api/genes/TP53/perturbagens/?direction=sideways")
    assert response.status_code == 400 and "direction" in response.json()["detail"]
    assert client.get("/genes/TP53/perturbagens.tsv?limit=0").status_code == 400


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("most", [10, 600])  # groups sorted together; groups large enough to take one partition each
def test_each_groups_median_equals_numpys(seed, most):
    from search import perturbagens
    from search.perturbagens import _medians, _Members

    rng = np.random.default_rng(seed)
    lengths = rng.integers(0, most, 40)
    lengths[:3] = [0, 1, 2]
    owner = np.repeat(np.arange(len(lengths)), lengths)
    values = rng.standard_normal(len(owner)).astype(np.float32).astype(np.float64)
    values[rng.random(len(values)) < 0.05] = np.nan
    ties = rng.random(len(values)) < 0.2
    values[ties] = np.round(values[ties], 1)
    bounds = np.concatenate([[0], np.cumsum(lengths)])
    members = _Members(keys=[("p", str(i)) for i in range(len(lengths))], position={}, bounds=bounds, owner=owner,
                       columns=np.arange(len(owner)), cell=np.zeros(len(owner), dtype=np.int64), cell_names=["c"])
    got = _medians(members, values)
    assert (len(values) > perturbagens._LARGE_GROUPS * len(lengths)) == (most > 10)
    for i, n in enumerate(lengths):
        group = values[bounds[i] : bounds[i + 1]]
        if n == 0 or np.isnan(group).any():
            assert np.isnan(got[i])
        else:
            assert got[i] == float(np.median(group))
