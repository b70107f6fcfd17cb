"""Dose/time unit spellings become one unit at import; plate names map to their batch."""

import pandas as pd
import pytest

from conversion.formats.l1000 import batch_of_plate, normalise_profile_metadata


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


@pytest.mark.parametrize(
    "plate, batch",
    [
        ("DIVR.BASE003_NCIH522_24H_X1.A2_B29", "DIVR.BASE003_NCIH522_24H"),
        ("LJP005_A375_24H_X1_B19", "LJP005_A375_24H"),
        ("LJP005_A375_24H_X2_B19", "LJP005_A375_24H"),
        ("CPC006_A549_6H_X1_B3_DUO52HI53LO", "CPC006_A549_6H"),
        ("REP.A001_A375_24H_X3_B22", "REP.A001_A375_24H"),
        ("KDA004_HT29_96H_X1", "KDA004_HT29_96H"),
        ("PLATE_WITHOUT_REPLICATE", "PLATE_WITHOUT_REPLICATE"),
        ("ABC_X1Y_24H", "ABC_X1Y_24H"),
    ],
)
def test_batch_of_plate(plate, batch):
    assert batch_of_plate(plate) == batch
