"""The API's result JSON: rows written by search.serializers.HitSerializer against plain dicts, same run.

The gene-signatures endpoint writes up to 1,000 hits per response with the
serializer that is also its OpenAPI schema. The baseline builds the same
dicts by hand (what the endpoint did before); both outputs are compared.
Reported: milliseconds per response for 50 hits (the default page) and for
1,000 (the largest), the best of --repeat runs.

    .venv/bin/python bench/bench_api_json.py [--repeat 30]
"""

import argparse
import os
import platform
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "l1kweb.settings")

import django  # noqa: E402

django.setup()

from search.query import Hit, SignatureRow  # noqa: E402
from search.serializers import HitSerializer  # noqa: E402


def by_hand(hit: Hit) -> dict:
    s = hit.signature
    return {
        "sig_id": s.sig_id, "pert_type": s.pert_type, "pert_id": s.pert_id, "perturbagen": s.pert_name, "cell_line": s.cell_line,
        "dose": s.dose, "dose_unit": s.dose_unit, "time": s.time, "time_unit": s.time_unit, "batch": s.batch,
        "n_replicates": s.n_replicates, "n_controls": s.n_controls, "position": hit.position, "cd": hit.cd, "log2fc": hit.logfc,
        "fold_change": hit.fold_change, "rank_in_signature": hit.rank, "discordant": hit.discordant,
    }


def best_ms(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times) * 1000


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--repeat", type=int, default=30)
    args = p.parse_args()
    hits = [
        Hit(position=i + 1, signature=SignatureRow(f"LJP005_A375_24H:BRD-K{i:08d}:10", i, "chemical", f"BRD-K{i:08d}", f"compound {i}",
                                                   "A375", 10.0, "uM", 24.0, "h", "LJP005_A375_24H", 3, 372),
            cd=0.01 * (i % 97) - 0.4, logfc=0.02 * (i % 13) - 0.1, rank=1 + i % 500)
        for i in range(1000)
    ]
    print(f"{platform.node()} {platform.machine()} Python {platform.python_version()}, load {os.getloadavg()[0]:.2f}")
    print("| hits | plain dicts ms | serializer ms | ratio |")
    print("| --- | --- | --- | --- |")
    for n in (50, 1000):
        rows = hits[:n]
        assert [dict(r) for r in HitSerializer(rows, many=True).data] == [by_hand(h) for h in rows]
        base = best_ms(lambda: [by_hand(h) for h in rows], args.repeat)
        ser = best_ms(lambda: HitSerializer(rows, many=True).data, args.repeat)
        print(f"| {n} | {base:.2f} | {ser:.2f} | {ser / base:.1f}x |")


if __name__ == "__main__":
    main()
