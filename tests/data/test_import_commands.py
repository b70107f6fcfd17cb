"""make_demo_data, import_genes and import_l1000 from the command line."""

import pytest
from django.core.management import CommandError, call_command

from conversion.datasets import load_metadata
from conversion.models import Dataset
from conversion.models import Gene, GeneStatus

pytestmark = pytest.mark.django_db


def test_make_demo_data_writes_a_tiny_world_and_reports_it(tmp_path, capsys):
    call_command("make_demo_data", str(tmp_path / "w"), "--size", "tiny", "--seed", "3")
    out = capsys.readouterr().out
    assert "Wrote the tiny world (seed 3)" in out and "100 landmarks" in out
    assert (tmp_path / "w" / "manifest.json").exists() and (tmp_path / "w" / "level3.gctx").exists()


def test_import_genes_then_import_l1000_registers_the_dataset(tiny_world, capsys):
    call_command("import_genes", tiny_world["gene_info"], "--ncbi", tiny_world["ncbi_gene_info"])
    assert Gene.objects.filter(status=GeneStatus.LANDMARK).count() == 100
    call_command("import_l1000", tiny_world["l1000"], "--inst-info", tiny_world["inst_info"], "--name", "tiny-l3")
    out = capsys.readouterr().out
    assert "All 100 landmark genes of the gene registry are present" in out
    assert "Dataset 'tiny-l3' registered: 414 profiles x 200 genes." in out
    ds = Dataset.objects.get(name="tiny-l3")
    assert ds.kind == "l1000" and len(load_metadata(ds)) == 414


def test_import_l1000_twice_is_idempotent(tiny_world, capsys):
    for _ in range(2):
        call_command("import_l1000", tiny_world["l1000"], "--inst-info", tiny_world["inst_info"], "--gene-info", tiny_world["gene_info"], "--name", "x")
    assert Dataset.objects.count() == 1
    assert "0 created, 0 changed" in capsys.readouterr().out.split("registered")[-2]


def test_import_l1000_names_missing_landmarks(tiny_world, tmp_path):
    gene_info = tmp_path / "gene_info.tsv"
    text = open(tiny_world["gene_info"]).read().rstrip("\n") + "\n424242\tFAKE1\tfake gene\t1\t1\n"
    gene_info.write_text(text)
    with pytest.raises(CommandError, match=r"expected the 101 landmark genes, found 100: missing Entrez ids 424242"):
        call_command("import_l1000", tiny_world["l1000"], "--gene-info", str(gene_info))
    assert not Dataset.objects.exists()


def test_import_l1000_refuses_a_file_that_is_not_a_matrix(tmp_path):
    bad = tmp_path / "level3.gctx"
    bad.write_bytes(b"\x89HDF\r\n\x1a\n" + b"\0" * 100)
    with pytest.raises(CommandError, match=r"level3\.gctx is not a readable HDF5 file"):
        call_command("import_l1000", str(bad))
    assert not Dataset.objects.exists()
