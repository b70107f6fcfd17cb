"""Dose/time unit spellings become one unit at import (plate names: tests/data/test_landmark_selection.py)."""

import pandas as pd
import pytest

from conversion.formats.l1000 import normalise_profile_metadata


@pytest.mark.parametrize(
    "given, expected",
    [
        ("um", "uM"), ("uM", "uM"), ("\u00b5M", "uM"), ("\u00c2\u00b5M", "uM"), ("\u00b5 M", "uM"),
        ("nM", "nM"), ("nm", "nM"),
        ("ng/mL", "ng/mL"), ("ng/ml", "ng/mL"), ("ng/\u00b5L", "ng/uL"),
        ("\u00b5L", "uL"), ("ul", "uL"),
        ("h", "h"), ("hr", "h"), ("hours", "h"), ("HRS", "h"),
        ("min", "min"), ("days", "d"), ("M", "M"),  # molar stays molar: "m" is not read as minutes
        ("furlongs", "furlongs"),
    ],
)
def test_unit_spellings_become_one_unit(given, expected):
    meta = pd.DataFrame({"inst_id": ["a"], "pert_dose_unit": [given], "pert_time_unit": [given]})
    out = normalise_profile_metadata(meta)
    assert out.loc[0, "pert_dose_unit"] == expected
    assert out.loc[0, "pert_time_unit"] == expected


def test_missing_unit_stays_missing():
    meta = pd.DataFrame({"inst_id": ["a", "b"], "pert_dose_unit": ["-666", None], "pert_time_unit": ["", "h"]})
    out = normalise_profile_metadata(meta)
    assert out["pert_dose_unit"].isna().all()
    assert out["pert_time_unit"].isna().iloc[0] and out["pert_time_unit"].iloc[1] == "h"

