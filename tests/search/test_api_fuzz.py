"""A schema-driven fuzzer (schemathesis, every check) against a live server finds no failure.

Schemathesis reads the OpenAPI schema at /api/schema/, generates valid and
invalid requests for every operation, and checks each response: no 5xx, the
status code and the body are the documented ones, invalid input is refused
and valid input is accepted. The live server serves a small release
(tests/search/factories.py).
"""

import subprocess
import sys
from pathlib import Path

import pytest
from rest_framework.throttling import AnonRateThrottle

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


def test_the_fuzzer_finds_no_failure_in_any_operation(live_server, world, monkeypatch, tmp_path):
    monkeypatch.setattr(AnonRateThrottle, "THROTTLE_RATES", {"anon": "1000000/minute", "pages": "1000000/minute", "downloads": "1000000/minute"})
    st = Path(sys.executable).with_name("st")
    run = subprocess.run(
        [str(st), "run", f"{live_server.url}/api/schema/?format=json", "--checks", "all", "--max-examples", "40", "--seed", "1",
         "--no-color", "--request-timeout", "20"],
        capture_output=True, text=True, timeout=600, cwd=tmp_path,  # its report folder goes there
    )
    assert run.returncode == 0, run.stdout[-8000:] + run.stderr[-2000:]


def test_every_operation_documents_its_error_codes_with_a_json_detail(client, world):
    schema = client.get("/api/schema/", {"format": "json"}).json()
    codes = {path: set(op["get"]["responses"]) for path, op in schema["paths"].items() if path not in ("/api/schema/",)}
    assert codes["/api/genes/{symbol}/signatures/"] == {"200", "400", "404", "429", "503"}
    assert codes["/api/table/{kind}/{direction}/{symbol}"] == {"200", "400", "404", "429", "503"}
    assert codes["/api/genes/"] == {"200", "400", "429"}
    assert all("429" in c for c in codes.values())
    error = schema["paths"]["/api/genes/{symbol}/"]["get"]["responses"]["404"]["content"]["application/json"]["schema"]
    assert schema["components"]["schemas"][error["$ref"].rsplit("/", 1)[-1]]["required"] == ["detail"]
    cell_line = next(p for p in schema["paths"]["/api/genes/{symbol}/signatures/"]["get"]["parameters"] if p["name"] == "cell_line")
    assert cell_line["schema"]["items"]["enum"] == sorted(world.release.signatures.values_list("cell_line__name", flat=True).distinct())


def test_the_api_refuses_a_blank_value_that_a_page_form_may_send(client, world):
    r = client.get("/api/genes/STAT3/signatures/", {"direction": "", "dose": ""})
    assert r.status_code == 400 and r.json() == {"detail": "Parameter 'direction' must be up or down, found ''."}
    assert client.get("/genes/STAT3/", {"direction": "", "dose": "", "time": ""}).status_code == 200
