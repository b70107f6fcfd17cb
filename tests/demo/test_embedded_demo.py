"""The demo on the embedded default (SQLite, tasks in-process), as `bin/demo` runs it, then a search."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]


def _embedded_env(data_dir: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL", "CELERY_RESULT_BACKEND")}
    env.update(DATA_DIR=str(data_dir), L1KWEB_DEMO_DATA="1", DJANGO_SETTINGS_MODULE="l1kweb.settings")
    return env


def test_the_embedded_demo_builds_and_serves_a_planted_gene(tmp_path):
    env = _embedded_env(tmp_path / "fresh" / "data")  # not there yet, as in a fresh checkout
    # bin/demo's two steps: the schema first (the site is served while the demo builds), then the build.
    migrate = subprocess.run([sys.executable, "manage.py", "migrate", "--verbosity", "0"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert migrate.returncode == 0, migrate.stderr[-3000:]
    build = subprocess.run([sys.executable, "manage.py", "demo", "--size", "tiny"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert build.returncode == 0, build.stdout[-3000:] + build.stderr[-3000:]
    assert "The demo is ready" in build.stdout and "Demo steps (" in build.stdout
    assert (tmp_path / "fresh" / "data" / "l1kweb.sqlite3").is_file()

    probe = (
        "import django, json; django.setup()\n"
        "import pandas as pd\n"
        "from django.test import Client\n"
        "from signatures.models import GeneTopEntry, Release\n"
        "world = json.load(open(f'{__import__(\"django.conf\").conf.settings.DATA_DIR}/demo/demo-tiny/world/manifest.json'))\n"
        "truth = pd.read_csv(world['truth'], sep='\\t')\n"
        "effect = truth.loc[truth['effect'].abs().idxmax()]\n"
        "kind = 'crispr' if effect.pert_type == 'trt_xpr' else 'chemical'\n"
        "r = Client(HTTP_HOST='127.0.0.1').get(f'/api/genes/{effect.symbol}/signatures/', {'type': kind, 'direction': effect.direction, 'limit': 20})\n"
        "names = [h['perturbagen'] for h in r.json()['results']]\n"
        "print(json.dumps({'status': r.status_code, 'found': effect.pert_iname in names, 'rows': GeneTopEntry.objects.count(),\n"
        "                  'release': Release.active().name}))\n"
    )
    run = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr[-3000:]
    result = json.loads(run.stdout.strip().splitlines()[-1])
    assert result["status"] == 200 and result["release"] == "demo-tiny-signatures"
    assert result["found"], "the strongest planted effect is not in its gene's top 20"
    assert result["rows"] > 0
