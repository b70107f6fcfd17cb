import numpy as np
import pytest
from django.core.management import CommandError, call_command

from conversion.formats.gctx import GctxReader
from conversion.models import ConversionJob, Dataset

from .helpers import toy_bundle, toy_l1000_file

pytestmark = pytest.mark.django_db


def test_convert_registers_input_and_output_datasets_and_writes_where_asked(data_dir, tmp_path, capsys):
    bundle = toy_bundle()
    bundle.save(data_dir / "toy.pt")
    src, landmarks = toy_l1000_file(tmp_path / "plate.gctx", bundle, n_samples=30)
    out = tmp_path / "converted.gctx"
    call_command("convert", str(data_dir / "toy.pt"), str(src), "--out", str(out), "--chunk-size", "8", "--device", "cpu", "--name", "plate-rna")
    source = Dataset.objects.get(name="plate")
    output = Dataset.objects.get(name="plate-rna")
    assert (source.kind, output.kind, output.source, output.n_profiles) == ("l1000", "rnaseq_like", source, 30)
    assert output.file == out
    with GctxReader(out) as reader:
        np.testing.assert_allclose(reader.read(), bundle.predict(landmarks), rtol=1e-5, atol=1e-5)
    job = ConversionJob.objects.get()
    assert (job.status, job.chunks_done, job.chunks_total) == ("done", 4, 4)
    assert "Output dataset plate-rna" in capsys.readouterr().out


def test_convert_by_registered_names_resumes_an_interrupted_job(data_dir, tmp_path):
    from .helpers import registered_pair

    translator, dataset, bundle, landmarks = registered_pair(data_dir, n_samples=20)
    job = ConversionJob.objects.create(dataset=dataset, translator=translator, chunk_size=5, device="cpu", status="failed",
                                       error="Interrupted; run the same command again to resume.")
    call_command("convert", "toy", dataset.name, "--chunk-size", "5", "--device", "cpu")
    job.refresh_from_db()
    assert job.status == "done" and ConversionJob.objects.count() == 1
    with GctxReader(job.output.file) as reader:
        np.testing.assert_allclose(reader.read(), bundle.predict(landmarks), rtol=1e-5, atol=1e-5)


def test_convert_explains_an_unknown_input(data_dir):
    toy_bundle().save(data_dir / "toy.pt")
    with pytest.raises(CommandError, match="'nope' is neither a registered dataset nor an existing file"):
        call_command("convert", str(data_dir / "toy.pt"), "nope")
