"""search.ranking orders signatures exactly as a plain Python sort does, ties by column."""

import numpy as np
import pytest

from search.ranking import rank_signatures
from tests.search.factories import gene_ranks_up, reference_list


@pytest.mark.parametrize("direction", ["up", "down"])
@pytest.mark.parametrize("metric", ["cd", "logfc", "rank"])
@pytest.mark.parametrize("offset,limit", [(0, 5), (3, 10), (0, 1000), (40, 7)])
def test_ranked_page_equals_the_reference_sort(direction, metric, offset, limit):
    rng = np.random.default_rng(1)
    cd_all = rng.standard_normal((300, 40)).astype(np.float32)
    logfc_all = (cd_all * 3 + rng.normal(0, 1, cd_all.shape)).astype(np.float32)
    rank_up_all = gene_ranks_up(cd_all)
    g = 7
    columns = np.sort(rng.choice(300, size=180, replace=False))
    positions, total = rank_signatures(cd_all[columns, g], logfc_all[columns, g], rank_up_all[columns, g], columns, n_genes=40, direction=direction, metric=metric, offset=offset, limit=limit)
    expected = reference_list(cd_all[:, g], logfc_all[:, g], rank_up_all[:, g], columns, 40, direction=direction, metric=metric)
    assert total == len(expected)
    assert list(columns[positions]) == expected[offset : offset + limit]


def test_ties_across_the_page_boundary_are_broken_by_column():
    cd = np.array([0.5, 0.2, 0.5, 0.5, 0.9], dtype=np.float32)
    columns = np.array([10, 11, 12, 13, 14])
    positions, total = rank_signatures(cd, cd, np.ones(5, dtype=np.int32), columns, n_genes=10, direction="up", metric="cd", offset=1, limit=2)
    assert total == 5
    assert list(columns[positions]) == [10, 12]


def test_zero_coefficients_belong_to_neither_direction():
    cd = np.array([0.0, 0.0, 0.1], dtype=np.float32)
    columns = np.arange(3)
    up, n_up = rank_signatures(cd, cd, np.ones(3), columns, n_genes=5, direction="up", metric="cd", offset=0, limit=10)
    down, n_down = rank_signatures(cd, cd, np.ones(3), columns, n_genes=5, direction="down", metric="cd", offset=0, limit=10)
    assert (n_up, n_down) == (1, 0)
    assert list(up) == [2] and list(down) == []


def test_unknown_metric_is_refused_with_the_choices():
    with pytest.raises(ValueError, match="metric must be one of cd, logfc, rank"):
        rank_signatures(np.ones(2), np.ones(2), np.ones(2), np.arange(2), n_genes=3, direction="up", metric="pvalue", offset=0, limit=1)
