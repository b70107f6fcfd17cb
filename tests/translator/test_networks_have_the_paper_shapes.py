import torch

from conversion.translator.config import get_config
from conversion.translator.networks import Discriminator, Extrapolator, Generator


def _linear_shapes(module):
    return [(m.in_features, m.out_features) for m in module.modules() if isinstance(m, torch.nn.Linear)]


def test_paper_generator_goes_978_512_512_128_with_a_residual_block_and_back():
    with torch.device("meta"):
        G = Generator(get_config("paper").cyclegan)
    assert _linear_shapes(G) == [(978, 512), (512, 512), (512, 128), (128, 128), (128, 128), (128, 512), (512, 512), (512, 978)]


def test_paper_extrapolator_goes_978_2048_4096_8192_23614():
    with torch.device("meta"):
        E = Extrapolator(get_config("paper").extrapolator)
    assert _linear_shapes(E) == [(978, 2048), (2048, 4096), (4096, 8192), (8192, 23614)]
    n_weights = sum(p.numel() for p in E.parameters())
    assert 236_000_000 < n_weights < 238_000_000


def test_generator_and_extrapolator_outputs_are_non_negative():
    config = get_config("tiny").with_genes(20, 50)
    torch.manual_seed(0)
    x = torch.randn(16, 20) * 5
    assert (Generator(config.cyclegan).eval()(x) >= 0).all()
    assert (Extrapolator(config.extrapolator).eval()(x) >= 0).all()


def test_discriminator_scores_one_real_number_per_profile():
    config = get_config("tiny").with_genes(20, 50)
    assert Discriminator(config.cyclegan)(torch.randn(7, 20)).shape == (7,)
