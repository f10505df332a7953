"""The docker/ deployment files: valid, and consistent with pyproject.toml and each other.

No Docker engine is needed: the compose file, the instance and workspace YAML are parsed with a
YAML loader and checked for what would otherwise break only at ``docker compose up``; the
Dockerfile's base image, install and commands are checked against pyproject.toml. That the
instance configuration really runs is shown by tests/test_operations.py, which uses
docker/dagster.yaml unchanged.
"""

from __future__ import annotations

import re
import shlex
import tomllib
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet

REPO = Path(__file__).resolve().parents[1]
DOCKER = REPO / "docker"
PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text())
INTERPOLATION = re.compile(r"(?<!\$)\$\{([A-Z0-9_]+)(?::?[-?][^}]*)?\}")  # $${X} is compose's escape
SECRETS = {"DAGSTER_PG_PASSWORD", "PMKPI_MAILCHIMP_API_KEY", "PMKPI_BILLING_DB_URL"}


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((DOCKER / "docker-compose.yml").read_text())


@pytest.fixture(scope="module")
def dockerfile() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of the Dockerfile, continuation lines joined, comments dropped."""
    text = re.sub(r"\\\n", " ", (DOCKER / "Dockerfile").read_text())
    lines = [line.strip() for line in text.splitlines() if line.strip() and not line.strip().startswith("#")]
    return [(line.split(None, 1)[0].upper(), line.split(None, 1)[1]) for line in lines]


def _instruction(dockerfile, name: str) -> list[str]:
    return [args for instruction, args in dockerfile if instruction == name]


def _exec_form(args: str) -> list[str]:
    return yaml.safe_load(args) if args.startswith("[") else shlex.split(args)


def _image_env(dockerfile) -> dict[str, str]:
    env = {}
    for args in _instruction(dockerfile, "ENV"):
        for item in shlex.split(args):
            key, _, value = item.partition("=")
            env[key] = value
    return env


def test_compose_has_the_four_services_on_one_image(compose):
    services = compose["services"]
    assert set(services) == {"postgres", "user_code", "webserver", "daemon"}
    assert services["user_code"]["build"] == {"context": "..", "dockerfile": "docker/Dockerfile"}
    image = services["user_code"]["image"]
    assert services["webserver"]["image"] == services["daemon"]["image"] == image
    assert services["webserver"]["command"][0] == "dagster-webserver"
    assert services["daemon"]["command"][:2] == ["dagster-daemon", "run"]
    for name in ("user_code", "webserver", "daemon"):
        assert services[name]["depends_on"]["postgres"] == {"condition": "service_healthy"}
    for name in ("webserver", "daemon"):
        assert services[name]["depends_on"]["user_code"] == {"condition": "service_healthy"}
    assert services["postgres"]["image"].startswith("postgres:15")
    assert "pg_isready" in " ".join(services["postgres"]["healthcheck"]["test"])
    # Named volumes and secrets used by the services are declared.
    used = {v.split(":")[0] for s in services.values() for v in s.get("volumes", [])}
    assert {v for v in used if not v.startswith(("$", ".", "/"))} <= set(compose["volumes"])
    assert set(services["user_code"]["secrets"]) <= set(compose["secrets"])


def test_every_dagster_process_reaches_the_same_postgres_instance(compose, dockerfile):
    services = compose["services"]
    instance_env = [services[n]["environment"] for n in ("user_code", "webserver", "daemon")]
    urls = {env["DAGSTER_POSTGRES_URL"] for env in instance_env}
    assert len(urls) == 1
    url = urls.pop()
    assert url.startswith("postgresql+psycopg2://")  # psycopg 3 breaks Dagster's event log (DESIGN.md)
    pg = services["postgres"]["environment"]
    for part in (pg["POSTGRES_USER"], pg["POSTGRES_PASSWORD"], pg["POSTGRES_DB"]):
        assert part in url
    assert "@postgres:5432/" in url
    assert {env["DAGSTER_HOME"] for env in instance_env} == {_image_env(dockerfile)["DAGSTER_HOME"]}
    # Run logs are written by the runs in user_code and read by the webserver: one shared volume.
    storage = {v for n in ("user_code", "webserver", "daemon") for v in services[n]["volumes"] if "storage" in v}
    assert storage == {"dagster_storage:/opt/dagster/dagster_home/storage"}


def test_secrets_come_from_the_environment_never_from_the_files(compose):
    text = (DOCKER / "docker-compose.yml").read_text()
    env = compose["services"]["user_code"]["environment"]
    for name in SECRETS - {"DAGSTER_PG_PASSWORD"}:
        assert INTERPOLATION.fullmatch(env[name]) and INTERPOLATION.fullmatch(env[name]).group(1) == name, env[name]
    assert "${DAGSTER_PG_PASSWORD:?" in compose["services"]["postgres"]["environment"]["POSTGRES_PASSWORD"]
    # The GA4 key is a compose secret (a file mounted under /run/secrets), named by the standard variable.
    assert env["GOOGLE_APPLICATION_CREDENTIALS"] == "/run/secrets/ga4_service_account"
    assert "ga4_service_account" in compose["secrets"]
    # Required secrets fail `docker compose up` with a message naming them when unset.
    for name in SECRETS:
        assert re.search(rf"\$\{{{name}:\?set {name} in docker/\.env\}}", text), name
    assert ".env" in (DOCKER / ".gitignore").read_text().split()


def _variables_the_code_reads() -> set[str]:
    """Every ``PMKPI_*`` name the pipeline reads: the settings model's fields and any quoted literal
    (the sandbox only exports them)."""
    from pmkpi_pipeline.lib.settings import Settings

    prefix = Settings.model_config["env_prefix"]
    names = {prefix + name.upper() for name, info in Settings.model_fields.items() if info.validation_alias is None}
    for path in (REPO / "pmkpi_pipeline").rglob("*.py"):
        names |= set(re.findall(r"[\"'](PMKPI_[A-Z0-9_]+)[\"']", path.read_text()))
    return names


def test_compose_passes_every_setting_the_code_reads(compose):
    env = compose["services"]["user_code"]["environment"]
    read = _variables_the_code_reads()
    assert {"PMKPI_START_DATE", "PMKPI_MAILCHIMP_API_KEY", "PMKPI_ALERT_WEBHOOK_URL", "PMKPI_ASSET_OWNERS"} <= read
    passed = {name for name in env if name.startswith("PMKPI_")}
    assert read - {"PMKPI_DATA_DIR"} <= passed, read - passed
    assert passed <= read | {"PMKPI_DATA_DIR"}, passed - read  # nothing the code would ignore
    # Each pass-through takes the variable of the same name from docker/.env (or a container path).
    for name in passed:
        match = INTERPOLATION.fullmatch(str(env[name]))
        assert (match and match.group(1) == name) or str(env[name]).startswith("/opt/dagster/"), (name, env[name])


def test_env_example_names_every_variable_compose_interpolates():
    text = (DOCKER / "docker-compose.yml").read_text()
    interpolated = set(INTERPOLATION.findall(text))
    example = {line.split("=", 1)[0] for line in (DOCKER / ".env.example").read_text().splitlines()
               if line and not line.startswith("#")}
    assert interpolated == example, (interpolated ^ example)


def test_dockerfile_base_image_matches_requires_python(dockerfile):
    [base] = _instruction(dockerfile, "FROM")
    match = re.fullmatch(r"python:(\d+)\.(\d+)-slim-bookworm", base)
    assert match, base
    version = f"{match.group(1)}.{match.group(2)}.0"
    assert version in SpecifierSet(PYPROJECT["project"]["requires-python"])


def test_dockerfile_installs_the_package_with_the_postgres_extra(dockerfile):
    [install] = [a for a in _instruction(dockerfile, "RUN") if "pip install" in a]
    extras = re.search(r"\"\.\[([a-z,]+)\]\"", install).group(1).split(",")
    optional = PYPROJECT["project"]["optional-dependencies"]
    assert set(extras) <= set(optional)
    requirements = [Requirement(r) for r in PYPROJECT["project"]["dependencies"] + optional["postgres"]]
    pins = {r.name: str(r.specifier) for r in requirements}
    assert pins["dagster"] == pins["dagster-webserver"] == "==1.13.27"
    # Dagster's libraries are versioned 0.(minor+16).patch beside dagster 1.minor.patch.
    major, minor, patch = pins["dagster"][2:].split(".")
    assert pins["dagster-postgres"] == f"==0.{int(minor) + 16}.{patch}"
    assert "psycopg2-binary" in pins
    # What is copied exists, and the dockerignore lets it into the build context.
    ignore = (DOCKER / "Dockerfile.dockerignore").read_text().split()
    for args in _instruction(dockerfile, "COPY"):
        for source in shlex.split(args)[:-1]:
            assert (REPO / source).exists(), source
            assert f"!{source.rstrip('/')}" in {i.rstrip("/") for i in ignore}, source


def test_dockerfile_serves_the_code_location_on_the_workspace_port(dockerfile, compose):
    cmd = _exec_form(_instruction(dockerfile, "CMD")[-1])
    assert cmd[:3] == ["dagster", "code-server", "start"]
    module = cmd[cmd.index("-m") + 1]
    port = int(cmd[cmd.index("-p") + 1])
    assert module == PYPROJECT["tool"]["dagster"]["module_name"]
    assert (REPO / (module.replace(".", "/") + ".py")).exists()
    assert cmd[cmd.index("-h") + 1] == "0.0.0.0"
    assert _instruction(dockerfile, "EXPOSE") == [str(port)]
    workspace = yaml.safe_load((DOCKER / "workspace.yaml").read_text())
    [entry] = workspace["load_from"]
    assert entry["grpc_server"] == {"host": "user_code", "port": port,
                                    "location_name": PYPROJECT["tool"]["dagster"]["code_location_name"]}
    assert "user_code" in compose["services"]
    for name in ("webserver", "daemon"):
        command = compose["services"][name]["command"]
        assert command[command.index("-w") + 1] == _image_env(dockerfile)["DAGSTER_HOME"] + "/workspace.yaml"


def test_instance_yaml_is_valid_dagster_config(tmp_path, monkeypatch):
    from dagster._config import process_config
    from dagster._core.instance.config import dagster_instance_config
    from dagster_postgres import DagsterPostgresStorage

    (tmp_path / "dagster.yaml").write_text((DOCKER / "dagster.yaml").read_text())
    monkeypatch.setenv("DAGSTER_POSTGRES_URL", "postgresql+psycopg2://u:p@db:5432/dagster")
    config, _ = dagster_instance_config(str(tmp_path))
    assert config["run_coordinator"]["class"] == "QueuedRunCoordinator"
    assert config["run_launcher"]["class"] == "DefaultRunLauncher"
    assert config["concurrency"]["runs"]["tag_concurrency_limits"] == [{"key": "dagster/backfill", "limit": 1}]
    assert config["concurrency"]["pools"]["default_limit"] >= 1
    storage = process_config(DagsterPostgresStorage.config_type(), config["storage"]["postgres"])
    assert storage.success, storage.errors
    assert storage.value["postgres_url"] == "postgresql+psycopg2://u:p@db:5432/dagster"


def test_scale_out_extras_match_the_dagster_version():
    """The run launchers and executors of docker/README.md install at dagster's own version."""
    optional = PYPROJECT["project"]["optional-dependencies"]
    libraries = [Requirement(r) for name in ("postgres", "docker", "k8s", "celery", "dev") for r in optional[name]]
    dagster_libraries = {r.name: str(r.specifier) for r in libraries if r.name.startswith("dagster-")}
    assert {"dagster-postgres", "dagster-docker", "dagster-k8s", "dagster-celery", "dagster-celery-k8s"} <= set(
        dagster_libraries)
    assert set(dagster_libraries.values()) == {"==0.29.27"}
    readme = (DOCKER / "README.md").read_text()
    for module in ("dagster_docker", "dagster_k8s", "dagster_celery"):
        assert f"module: {module}" in readme or f"from {module} import" in readme, module
