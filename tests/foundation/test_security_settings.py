"""What a visitor or an attacker meets: headers, lock-outs, no password-guessing API."""

import base64
import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.django_db
def test_pages_send_a_content_security_policy_without_inline_scripts(client):
    response = client.get("/")
    assert response.status_code == 200
    policy = dict(
        part.strip().split(" ", 1) for part in response["Content-Security-Policy"].split(";") if part.strip()
    )
    assert policy["script-src"] == "'self'"
    assert policy["object-src"] == "'none'"
    assert policy["frame-ancestors"] == "'none'"
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    # With script-src 'self' an inline <script> would not run: the templates have none.
    assert "<script>" not in response.content.decode()


@pytest.mark.django_db
def test_the_api_ignores_basic_credentials_instead_of_checking_them(client, django_user_model):
    django_user_model.objects.create_user("curator", password="right-password-123")
    wrong = "Basic " + base64.b64encode(b"curator:guess").decode()
    response = client.get("/api/genes/?q=A", HTTP_AUTHORIZATION=wrong)
    # An anonymous answer, the same as with no header: nothing confirms or refutes the guess.
    assert response.status_code == client.get("/api/genes/?q=A").status_code == 200


@pytest.mark.django_db
def test_admin_logins_are_locked_out_after_repeated_failures(client, django_user_model, settings):
    django_user_model.objects.create_superuser("admin", "admin@example.org", "right-password-123")
    for attempt in range(1, settings.AXES_FAILURE_LIMIT + 1):
        response = client.post("/admin/login/?next=/admin/", {"username": "admin", "password": "wrong"})
        # The login form again, with its error, until the limit-th failure locks the client out.
        assert response.status_code == (429 if attempt == settings.AXES_FAILURE_LIMIT else 200)
    locked = client.post("/admin/login/?next=/admin/", {"username": "admin", "password": "right-password-123"})
    assert locked.status_code == 429
    # Another client address is not locked out by this one's failures.
    other = client.post(
        "/admin/login/?next=/admin/", {"username": "admin", "password": "right-password-123"}, REMOTE_ADDR="10.9.8.7"
    )
    assert other.status_code == 302


def test_production_settings_pass_the_deploy_checks():
    env = {k: v for k, v in os.environ.items() if k not in {"DEBUG", "SECURE_SSL_REDIRECT", "SECURE_HSTS_SECONDS"}}
    env.update(
        L1KWEB_ENV="production",
        SECRET_KEY=secrets.token_urlsafe(50),
        ALLOWED_HOSTS="l1kweb.example.org",
        DATABASE_URL=os.environ.get("DATABASE_URL", "postgres://root@127.0.0.1:5432/l1kweb"),
        REDIS_URL=os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"),
    )
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT, env=env, capture_output=True, text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_production_redirects_to_https_with_hsts():
    env = {k: v for k, v in os.environ.items() if k not in {"DEBUG"}}
    env.update(L1KWEB_ENV="production", SECRET_KEY=secrets.token_urlsafe(50), ALLOWED_HOSTS="testserver")
    code = (
        "import django; django.setup()\n"
        "from django.test import Client\n"
        "c = Client()\n"
        "r = c.get('/api/schema/')\n"
        "print(r.status_code, r['Location'])\n"
        "r = c.get('/api/schema/', secure=True, headers={'X-Forwarded-Proto': 'https'})\n"
        "print(r.get('Strict-Transport-Security'))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env | {"DJANGO_SETTINGS_MODULE": "l1kweb.settings"},
        capture_output=True, text=True,
    )
    assert result.returncode == 0, result.stderr
    first, second = result.stdout.splitlines()[-2:]
    assert first == "301 https://testserver/api/schema/"
    assert second.startswith("max-age=31536000")
