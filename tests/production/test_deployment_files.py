"""The deployment files agree with each other, the README and the code: the services and their commands,
the settings .env.example documents, and `check --deploy` on those settings."""

import re

from tests.production.conftest import manage, portal_env, run_python
from tests.production.deployment import (
    PORTAL_SERVICES,
    ROOT,
    command,
    compose,
    dockerfile_cmd,
    env_example,
    env_names_read,
)

# Set by docker-compose.yml or the image, so not in .env.example's assignments (it names them in comments).
SET_BY_THE_STACK = {
    "DATABASE_URL",
    "CELERY_BROKER_URL",
    "PORTAL_DATA_DIR",
    "STATIC_ROOT",
    "PORTAL_STATIC_MANIFEST",
    "PROMETHEUS_MULTIPROC_DIR",
    "HOST",
    "PORT",
}


def test_the_stack_has_its_services_hardened():
    services = compose()["services"]
    assert set(services) == {"db", "redis", *PORTAL_SERVICES}
    for name in PORTAL_SERVICES:
        service = services[name]
        assert service["build"] == "." and service["env_file"] == ".env", name
        assert service["read_only"] is True and service["cap_drop"] == ["ALL"], name
        assert "no-new-privileges:true" in service["security_opt"], name
        assert "portal-data:/data" in service["volumes"], name
    for name in ("web", "worker", "beat"):
        assert services[name]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    for name in ("db", "redis", "web", "worker"):
        assert services[name]["healthcheck"]["test"], name
    assert "/readyz" in " ".join(services["web"]["healthcheck"]["test"])
    assert [name for name, service in services.items() if "ports" in service] == ["web"]
    assert set(compose()["volumes"]) == {"db-data", "redis-data", "portal-data"}


def test_commands_are_the_image_s_the_readme_s_and_the_tests():
    assert (
        command("web")
        == dockerfile_cmd()
        == ["gunicorn", "--config", "python:portal.gunicorn", "portal.wsgi"]
    )
    assert command("worker")[:3] == ["celery", "--app", "portal"] and command("worker")[3] == "worker"
    assert command("beat")[:4] == ["celery", "--app", "portal", "beat"]
    readme = (ROOT / "README.md").read_text()
    for service in PORTAL_SERVICES:
        assert " ".join(command(service)) in readme, f"README.md does not show the {service} command"


def test_env_example_documents_every_setting():
    text = (ROOT / ".env.example").read_text()
    documented = set(re.findall(r"^#?\s*([A-Z][A-Z0-9_]*)=", text, re.MULTILINE))
    read = env_names_read(ROOT / "portal" / "settings.py") | env_names_read(ROOT / "portal" / "gunicorn.py")
    missing = sorted(read - documented - SET_BY_THE_STACK)
    assert not missing, f".env.example does not document {missing}"
    for name in SET_BY_THE_STACK & read:
        assert name in text, f".env.example does not say that the stack sets {name}"
    interpolated = set(re.findall(r"\$\{([A-Z_]+)", (ROOT / "docker-compose.yml").read_text()))
    assert interpolated <= documented, sorted(interpolated - documented)
    required = [name for name, value in env_example().items() if value == ""]
    assert {"SECRET_KEY", "POSTGRES_PASSWORD"} <= set(required)


def test_env_example_filled_in_passes_check_deploy(tmp_path):
    values = env_example()
    values.update(SECRET_KEY="Zq8-vB3nX1_kP7mR2tW9yL4cF6hJ0sD5gA8eU3oI1qN7xV2bM9", POSTGRES_PASSWORD="pw")
    result = manage("check", "--deploy", "--fail-level", "WARNING", env=portal_env(tmp_path, **values))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


STATIC_SCRIPT = """
import re
from django.test import Client
page = Client().get('/login/', HTTP_HOST='portal.example.com', secure=True).content.decode()
css = re.search(r'href="(/static/portal\\.[0-9a-f]{12}\\.css)"', page).group(1)
answer = Client().get(css, HTTP_HOST='portal.example.com', secure=True, HTTP_ACCEPT_ENCODING='gzip')
print(css, answer.status_code, answer['Cache-Control'], answer.get('Content-Encoding'), sep='|')
"""


def test_static_files_collected_as_the_image_does_are_served_by_whitenoise(tmp_path):
    """The Dockerfile's build step (collectstatic with hashed, compressed names), then the runtime."""
    env = portal_env(
        tmp_path,
        SECRET_KEY="collectstatic-only",
        PORTAL_STATIC_MANIFEST="true",
        STATIC_ROOT=str(tmp_path / "staticfiles"),
        ALLOWED_HOSTS="portal.example.com",
    )
    collected = manage("collectstatic", "--no-input", env=env)
    assert collected.returncode == 0, collected.stderr
    assert (
        "SECRET_KEY=collectstatic-only PORTAL_DATA_DIR=/tmp/data PORTAL_STATIC_MANIFEST=true"
        in (ROOT / "Dockerfile").read_text()
    )
    result = run_python(STATIC_SCRIPT, env)
    assert result.returncode == 0, result.stderr
    css, status, cache_control, encoding = result.stdout.strip().splitlines()[-1].split("|")
    assert (status, encoding) == ("200", "gzip")
    assert cache_control == "max-age=315360000, public, immutable", css
