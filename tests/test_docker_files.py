"""The docker/ deployment files: valid, and consistent with pyproject.toml and each other.

No Docker engine is needed: the compose file, the instance and workspace YAML are parsed with a
YAML loader and checked for what would otherwise break only at ``docker compose up``; the
Dockerfile's base image, install and commands are checked against pyproject.toml. That the
instance configuration really runs is shown by tests/test_operations.py, which uses
docker/dagster.yaml unchanged.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import tomllib
from pathlib import Path

import pytest
import sqlalchemy
import yaml
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet

REPO = Path(__file__).resolve().parents[1]
DOCKER = REPO / "docker"
PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text())
INTERPOLATION = re.compile(r"(?<!\$)\$\{([A-Z0-9_]+)(?::?[-?][^}]*)?\}")  # $${X} is compose's escape
CORE_SERVICES = {"postgres", "user_code", "webserver", "daemon"}


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
    assert {name for name, service in services.items() if not service.get("profiles")} == CORE_SERVICES
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
    assert {name for s in services.values() for name in s.get("secrets", [])} <= set(compose["secrets"])


def test_profiles_add_an_auth_proxy_and_a_read_only_webserver(compose):
    services = compose["services"]
    profiled = {name: tuple(service["profiles"]) for name, service in services.items() if service.get("profiles")}
    assert profiled == {"auth_proxy": ("auth",), "webserver_readonly": ("viewer",), "viewer_proxy": ("viewer",)}
    readonly = services["webserver_readonly"]
    assert readonly["image"] == services["webserver"]["image"]
    assert readonly["command"][:2] == ["dagster-webserver", "--read-only"]
    assert "ports" not in readonly  # reached only through viewer_proxy
    proxies = {name: services[name] for name in ("auth_proxy", "viewer_proxy")}
    assert {p["environment"]["PMKPI_AUTH_UPSTREAM"] for p in proxies.values()} == {
        "webserver:3000", "webserver_readonly:3000"}
    for proxy in proxies.values():
        assert proxy["build"]["context"] == "auth-proxy" and (DOCKER / "auth-proxy" / "Dockerfile").exists()
        [users] = proxy["secrets"]
        assert proxy["environment"]["PMKPI_AUTH_HTPASSWD_FILE"] == f"/run/secrets/{users}"
    nginx = (DOCKER / "auth-proxy" / "nginx.conf").read_text()
    assert "auth_basic_user_file" in nginx and "proxy_pass" in nginx


def test_only_loopback_is_published_by_default_and_postgres_never(compose):
    services = compose["services"]
    assert "ports" not in services["postgres"] and "expose" not in services["postgres"]
    published = {name: service["ports"] for name, service in services.items() if "ports" in service}
    assert set(published) == {"webserver", "auth_proxy", "viewer_proxy"}
    for name, ports in published.items():
        for port in ports:  # "${X_BIND:-127.0.0.1}:${X_PORT:-N}:N": the address may be chosen, loopback by default
            assert re.fullmatch(r"\$\{[A-Z_]+_BIND:-127\.0\.0\.1\}:\$\{[A-Z_]+_PORT:-\d+\}:\d+", port), (name, port)
    assert services["webserver"]["ports"] == [
        "${DAGSTER_WEBSERVER_BIND:-127.0.0.1}:${DAGSTER_WEBSERVER_PORT:-3000}:3000"]


def test_every_dagster_process_reaches_the_same_postgres_instance(compose, dockerfile):
    services = compose["services"]
    dagster = [n for n, s in services.items() if s.get("image") == services["user_code"]["image"]]
    assert set(dagster) == {"user_code", "webserver", "daemon", "webserver_readonly"}
    instance_env = [{k: v for k, v in services[n]["environment"].items() if k.startswith("DAGSTER_")}
                    for n in dagster]
    assert all(env == instance_env[0] for env in instance_env), instance_env
    env = instance_env[0]
    # The bookkeeping floor: read where runs are created (webserver, daemon) and where events are written (all).
    from pmkpi_pipeline.lib.dagster_env import PLANNED_EVENTS_SETTINGS, POSTGRES_SETTINGS

    assert {**PLANNED_EVENTS_SETTINGS, **POSTGRES_SETTINGS}.items() <= env.items()
    pg = services["postgres"]["environment"]
    assert (env["DAGSTER_PG_USER"], env["DAGSTER_PG_DB"], env["DAGSTER_PG_HOST"]) == (
        pg["POSTGRES_USER"], pg["POSTGRES_DB"], "postgres")
    # The password is one secret file, read by postgres and by the image's entrypoint.
    assert env["DAGSTER_PG_PASSWORD_FILE"] == pg["POSTGRES_PASSWORD_FILE"] == "/run/secrets/dagster_pg_password"
    for name in [*dagster, "postgres"]:
        assert "dagster_pg_password" in services[name]["secrets"], name
    assert {e["DAGSTER_HOME"] for e in instance_env} == {_image_env(dockerfile)["DAGSTER_HOME"]}
    # Run logs are written by the runs in user_code and read by the webservers: one shared volume.
    storage = {v for n in dagster for v in services[n]["volumes"] if "storage" in v}
    assert storage == {"dagster_storage:/opt/dagster/dagster_home/storage"}


def test_entrypoint_builds_the_instance_url_from_the_password_file(tmp_path, dockerfile):
    """What docker/dagster.yaml reads (DAGSTER_POSTGRES_URL), built by the image's entrypoint."""
    assert _exec_form(_instruction(dockerfile, "ENTRYPOINT")[0]) == ["pmkpi-entrypoint"]
    assert "docker/entrypoint.sh /usr/local/bin/pmkpi-entrypoint" in _instruction(dockerfile, "COPY")
    (tmp_path / "pw").write_text("p@ss:w/rd %\n")
    env = {"PATH": os.environ["PATH"], "DAGSTER_PG_PASSWORD_FILE": str(tmp_path / "pw"),
           "DAGSTER_PG_USER": "dagster", "DAGSTER_PG_HOST": "postgres", "DAGSTER_PG_DB": "dagster"}
    out = subprocess.run(["sh", str(DOCKER / "entrypoint.sh"), "sh", "-c", 'printf %s "$DAGSTER_POSTGRES_URL"'],
                         env=env, capture_output=True, text=True, check=True).stdout
    assert out == "postgresql+psycopg2://dagster:p%40ss%3Aw%2Frd%20%25@postgres:5432/dagster"
    assert sqlalchemy.make_url(out).password == "p@ss:w/rd %"
    # A missing file stops the container with the variable's name.
    env["DAGSTER_PG_PASSWORD_FILE"] = str(tmp_path / "missing")
    failed = subprocess.run(["sh", str(DOCKER / "entrypoint.sh"), "true"], env=env, capture_output=True, text=True)
    assert failed.returncode != 0 and "DAGSTER_PG_PASSWORD_FILE" in failed.stderr


def test_secrets_reach_the_containers_as_files_never_as_values(compose):
    from pmkpi_pipeline.lib.settings import SECRET_FILE_VARIABLES

    services = compose["services"]
    env = services["user_code"]["environment"]
    for name in SECRET_FILE_VARIABLES:
        path = env[f"{name}_FILE"]
        secret = path.removeprefix("/run/secrets/")
        assert secret in services["user_code"]["secrets"] and secret in compose["secrets"], name
    # The GA4 key is a compose secret too, named by the standard variable.
    assert env["GOOGLE_APPLICATION_CREDENTIALS"] == "/run/secrets/ga4_service_account"
    assert "ga4_service_account" in services["user_code"]["secrets"]
    # No service carries a secret value in its environment (what `docker inspect` shows).
    values = {"DAGSTER_POSTGRES_URL", "DAGSTER_PG_PASSWORD", "POSTGRES_PASSWORD", *SECRET_FILE_VARIABLES}
    for name, service in services.items():
        assert not values & set(service.get("environment", {})), name
    example = (DOCKER / ".env.example").read_text()
    assert not any(re.search(rf"^{v}=", example, re.M) for v in values)
    assert {"secrets/", ".env"} <= set((DOCKER / ".gitignore").read_text().split())


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
    from pmkpi_pipeline.lib.settings import SECRET_FILE_VARIABLES

    env = compose["services"]["user_code"]["environment"]
    read = _variables_the_code_reads()
    assert {"PMKPI_START_DATE", "PMKPI_MAILCHIMP_API_KEY", "PMKPI_ALERT_WEBHOOK_URL", "PMKPI_ASSET_OWNERS"} <= read
    as_files = {f"{name}_FILE": name for name in SECRET_FILE_VARIABLES}
    passed = {as_files.get(name, name) for name in env if name.startswith("PMKPI_")}
    assert read - {"PMKPI_DATA_DIR"} <= passed, read - passed
    assert passed <= read | {"PMKPI_DATA_DIR"}, passed - read  # nothing the code would ignore
    # Each pass-through takes the variable of the same name from docker/.env (or a container path).
    for name in passed - set(SECRET_FILE_VARIABLES):
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
    assert base == "${BASE_IMAGE}"  # docker/verify.sh passes a locally built bookworm base when no registry answers
    [arg] = _instruction(dockerfile, "ARG")
    name, _, default = arg.partition("=")
    assert name == "BASE_IMAGE"
    match = re.fullmatch(r"python:(\d+)\.(\d+)-slim-bookworm", default)
    assert match, base
    version = f"{match.group(1)}.{match.group(2)}.0"
    assert version in SpecifierSet(PYPROJECT["project"]["requires-python"])


def test_dockerfile_installs_the_package_with_the_postgres_extra(dockerfile):
    dependencies, package = [a for a in _instruction(dockerfile, "RUN") if "pip install" in a]
    # The dependencies of the package and of the extras named, at the versions of requirements.lock ...
    extras = re.findall(r'p\["optional-dependencies"\]\["([a-z]+)"\]', dependencies)
    optional = PYPROJECT["project"]["optional-dependencies"]
    assert extras == ["postgres"] and 'p["dependencies"]' in dependencies
    assert "uv pip install --python \"$(command -v python)\" --no-cache --compile-bytecode -c requirements.lock -r" \
        in " ".join(dependencies.split())
    # ... then the package alone, so a code change does not reinstall them.
    assert package.endswith("pip install --no-deps .")
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
