"""Rows for signature tests: a registered dataset from the tiny synthetic world."""

import pandas as pd

from conversion.datasets import register_dataset


def tiny_l1000_dataset(world, name="tiny-l1000"):
    meta = pd.read_csv(world["inst_info"], sep="\t")
    return register_dataset(name, world["l1000"], kind="l1000", metadata=meta, description="tiny synthetic world")
