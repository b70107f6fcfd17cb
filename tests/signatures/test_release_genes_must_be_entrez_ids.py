"""A dataset whose genes are not keyed by Entrez id is refused with the first id that is not one."""

import numpy as np
import pandas as pd
import pytest

from conversion.formats.gctx import write_gctx
from conversion.models import Dataset
from signatures.compute import ComputeError, release_genes

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("keyed", ["row ids", "pr_gene_id"])
def test_a_probe_id_among_the_genes_is_named(data_dir, keyed):
    ids = ["5720", "7157", "201_at"]
    matrix = np.ones((2, 3), dtype=np.float32)
    if keyed == "row ids":
        write_gctx(data_dir / "m.gctx", matrix, ids, ["a", "b"])
    else:
        write_gctx(data_dir / "m.gctx", matrix, ["p1", "p2", "p3"], ["a", "b"], row_meta=pd.DataFrame({"pr_gene_id": ids}))
    dataset = Dataset.objects.create(name="probes", kind="rnaseq_like", path="m.gctx", n_profiles=2, n_genes=3)
    with pytest.raises(ComputeError, match=r"Dataset probes: genes must be keyed by Entrez id \(row ids or pr_gene_id\), found '201_at'\."):
        release_genes(dataset)


def test_entrez_ids_come_back_in_row_order(data_dir):
    write_gctx(data_dir / "m.gctx", np.ones((2, 2), dtype=np.float32), ["7157", "5720"], ["a", "b"], row_meta=pd.DataFrame({"pr_gene_symbol": ["TP53", "PSME1"]}))
    dataset = Dataset.objects.create(name="genes", kind="rnaseq_like", path="m.gctx", n_profiles=2, n_genes=2)
    entrez, symbols = release_genes(dataset)
    assert entrez.tolist() == [7157, 5720] and symbols == ["TP53", "PSME1"]
