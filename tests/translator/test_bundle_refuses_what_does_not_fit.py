import pytest
import torch

from conversion.translator.bundle import BundleError, load_bundle

from .helpers import toy_bundle


def test_missing_file_is_named(tmp_path):
    with pytest.raises(BundleError, match="does not exist"):
        load_bundle(tmp_path / "nope.pt")


def test_a_foreign_checkpoint_is_refused(tmp_path):
    torch.save({"state_dict": {}}, tmp_path / "other.pt")
    with pytest.raises(BundleError, match="is not an l1kweb translator bundle"):
        load_bundle(tmp_path / "other.pt")


def test_a_newer_format_version_is_refused(tmp_path):
    data = toy_bundle().to_dict()
    data["format_version"] = 99
    torch.save(data, tmp_path / "future.pt")
    with pytest.raises(BundleError, match="format version 99"):
        load_bundle(tmp_path / "future.pt")


def test_gene_lists_that_do_not_match_the_networks_are_refused(tmp_path):
    data = toy_bundle(n_in=12).to_dict()
    data["input_entrez_ids"] = data["input_entrez_ids"][:-1]
    data["input_symbols"] = data["input_symbols"][:-1]
    torch.save(data, tmp_path / "bad.pt")
    with pytest.raises(BundleError, match="expect 12 inputs .* lists 11 input"):
        load_bundle(tmp_path / "bad.pt")


def test_a_file_with_pickled_code_is_not_executed(tmp_path):
    class Evil:
        def __reduce__(self):
            return (print, ("pwned",))

    torch.save({"format": Evil()}, tmp_path / "evil.pt")
    with pytest.raises(BundleError, match="could not be read"):
        load_bundle(tmp_path / "evil.pt")
