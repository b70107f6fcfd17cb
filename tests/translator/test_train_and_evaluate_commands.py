import json

import numpy as np
import pandas as pd
import pytest
from scipy.stats import pearsonr
from django.core.management import CommandError, call_command

from conversion.models import TranslatorModel
from conversion.translator.bundle import load_bundle
from conversion.translator.evaluate import load_paired_for_bundle

pytestmark = [pytest.mark.django_db, pytest.mark.slow]


def _write_ids(path, ids):
    path.write_text("\n".join(map(str, ids)) + "\n")
    return path


def test_train_translator_writes_a_bundle_that_evaluate_translator_scores(tiny_world, tmp_path, capsys):
    out = tmp_path / "models" / "tiny.pt"
    call_command(
        "train_translator", "--l1000", tiny_world["l1000"], "--rnaseq", tiny_world["archs4"], "--out", str(out),
        "--size", "tiny", "--device", "cpu", "--gene-info", tiny_world["ncbi_gene_info"],
        "--output-genes", str(_write_ids(tmp_path / "out_genes.txt", tiny_world["output_entrez_ids"])),
        "--epochs", "2", "--max-epochs-step2", "2", "--model-version", "t1", "--register", "tiny", "--activate",
    )
    bundle = load_bundle(out)
    assert bundle.version == "t1" and bundle.config.size == "tiny"
    # Landmarks come in the L1000 file's row order; output genes in the order asked for.
    assert sorted(bundle.input_entrez_ids) == sorted(str(e) for e in tiny_world["landmark_entrez_ids"])
    assert bundle.output_entrez_ids == [str(e) for e in tiny_world["output_entrez_ids"]]
    assert bundle.training["rnaseq"]["n_samples"] == 400 and bundle.training["l1000"]["n_samples"] == 414
    assert len(bundle.quantile_reference) == len(bundle.output_entrez_ids)
    model = TranslatorModel.objects.get()
    assert (model.name, model.version, model.is_active) == ("tiny", "t1", True)
    assert not (out.parent / "tiny.pt.ckpt").exists(), "checkpoints are removed once the bundle is written"

    report_dir = tmp_path / "eval"
    call_command("evaluate_translator", str(out), "--l1000", tiny_world["gtex_l1000"], "--rnaseq", tiny_world["gtex_rnaseq"], "--out", str(report_dir))
    metrics = json.loads((report_dir / "metrics.json").read_text())
    assert metrics["n_samples"] == 120
    assert set(metrics["all_genes"]) == {"two-step model", "linear regression", "training mean", "random pairs"}
    assert set(metrics["landmarks"]) == {"model (G)", "ratio scaling", "raw L1000"}
    html = (report_dir / "report.html").read_text()
    assert "Plotly.newPlot" in html and "violin" in html
    # plotly.js itself is embedded, so the report opens offline.
    assert len(html) > 1_000_000 and "<script src=" not in html
    model.refresh_from_db()
    assert model.metrics["n_samples"] == 120

    # The gene-wise PCC is recorded in the bundle and in gene_reliability.tsv, and equals scipy's
    # Pearson r of the bundle's predictions against the paired RNA-seq, gene by gene.
    recorded = load_bundle(out).reliability
    assert recorded["n_samples"] == 120 and recorded["paired_set"] == "gtex_l1000.gctx + gtex_rnaseq.gctx (log2)"
    _, x, truth = load_paired_for_bundle(bundle, tiny_world["gtex_l1000"], tiny_world["gtex_rnaseq"])
    predicted = bundle.predict(x)
    expected = np.array([pearsonr(predicted[:, j], truth[:, j])[0] if np.ptp(predicted[:, j]) > 0 and np.ptp(truth[:, j]) > 0 else 0.0 for j in range(truth.shape[1])])
    np.testing.assert_allclose(recorded["pcc"], expected, atol=1e-4)
    zeros = json.loads((report_dir / "metrics.json").read_text())["zeros"]
    assert zeros["predicted_exactly_0"] == pytest.approx(float(np.mean(predicted == 0)))
    assert zeros["measured_at_most_0.01"] == pytest.approx(float(np.mean(truth <= 0.01)))
    table = pd.read_csv(report_dir / "gene_reliability.tsv", sep="\t")
    assert table["entrez_id"].astype(str).tolist() == bundle.output_entrez_ids
    np.testing.assert_allclose(table["pcc"], expected, atol=1e-4)
    assert "the model's gene-wise PCC beats linear regression" in capsys.readouterr().out


def test_train_translator_names_the_missing_output_genes(tiny_world, tmp_path):
    genes = _write_ids(tmp_path / "genes.txt", [*tiny_world["output_entrez_ids"][:5], 999_999_999])
    with pytest.raises(CommandError, match="missing Entrez ids 999999999"):
        call_command(
            "train_translator", "--l1000", tiny_world["l1000"], "--rnaseq", tiny_world["archs4"], "--out", str(tmp_path / "x.pt"),
            "--size", "tiny", "--gene-info", tiny_world["ncbi_gene_info"], "--output-genes", str(genes),
        )
    assert not (tmp_path / "x.pt").exists()


def test_evaluate_translator_refuses_a_file_that_is_not_a_bundle(tiny_world, tmp_path):
    with pytest.raises(CommandError, match="could not be read as a translator bundle"):
        call_command("evaluate_translator", tiny_world["truth"], "--l1000", tiny_world["gtex_l1000"], "--rnaseq", tiny_world["gtex_rnaseq"], "--out", str(tmp_path))


def test_an_interrupted_train_translator_resumes_from_its_checkpoints(tiny_world, tmp_path):
    from conversion.translator.config import configure
    from conversion.translator.data import load_training_data
    from conversion.translator.train import train_cyclegan

    # What a run killed during step 2 leaves behind: a finished step-1 checkpoint.
    data = load_training_data(tiny_world["l1000"], tiny_world["archs4"], tiny_world["ncbi_gene_info"], output_entrez_ids=tiny_world["output_entrez_ids"])
    config = configure("tiny", epochs=3).with_genes(len(data.landmark_entrez_ids), len(data.output_entrez_ids))
    (tmp_path / "ckpt").mkdir()
    train_cyclegan(data.l1000, data.rnaseq_landmarks, config.cyclegan, device="cpu", checkpoint=tmp_path / "ckpt" / "step1.ckpt")
    # Mark the checkpoint: a deterministic rerun from scratch would give the same losses, the mark tells them apart.
    import torch

    state = torch.load(tmp_path / "ckpt" / "step1.ckpt", weights_only=True)
    state["history"][-1]["from_checkpoint"] = 1.0
    torch.save(state, tmp_path / "ckpt" / "step1.ckpt")

    call_command(
        "train_translator", "--l1000", tiny_world["l1000"], "--rnaseq", tiny_world["archs4"], "--out", str(tmp_path / "tiny.pt"),
        "--size", "tiny", "--device", "cpu", "--gene-info", tiny_world["ncbi_gene_info"], "--epochs", "3", "--max-epochs-step2", "2",
        "--output-genes", str(_write_ids(tmp_path / "out_genes.txt", tiny_world["output_entrez_ids"])), "--checkpoint-dir", str(tmp_path / "ckpt"),
    )
    bundle = load_bundle(tmp_path / "tiny.pt")
    # Step 1 was not redone: the bundle carries the checkpoint's step-1 history.
    assert bundle.training["step1_history"][-1]["from_checkpoint"] == 1.0
    assert bundle.training["step2_epochs"] == 2
