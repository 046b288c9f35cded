"""docker-compose.yml agrees with the code: the settings it sets exist and validate, the ports, hosts and
credentials of one service are the ones the others use, and every command it runs is a real `touchpoints`
command with real options. Docker is not needed: the file is parsed, never run.
"""

from __future__ import annotations

import json
import os
import re
import shlex
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest
import typer
import yaml
from sqlalchemy.engine import make_url

from server.cli import app
from server.core.config import ENV_PREFIX, Settings, load_settings, parse_mqtt_url

REPO = Path(__file__).resolve().parent.parent
COMPOSE_FILE = REPO / "docker-compose.yml"
MOSQUITTO_CONF = REPO / "docs/deploy/mosquitto/mosquitto.conf"
DOCKERFILE = REPO / "docs/deploy/Dockerfile"

COMPOSE: dict[str, Any] = yaml.safe_load(COMPOSE_FILE.read_text())
SERVICES: dict[str, dict[str, Any]] = COMPOSE["services"]
# Services that run the touchpoints image (built here), as opposed to the official broker and database.
TOUCHPOINTS_SERVICES = sorted(name for name, spec in SERVICES.items() if "build" in spec)
INGEST_WORKERS = ["server", "server-2", "server-3"]

# Values for the variables the operator must set (`${VAR:?message}`), as `docker compose up` would get them.
REQUIRED_BY_COMPOSE = {"TOUCHPOINTS_ADMIN_TOKEN": "test-admin-token"}

MOSQUITTO_DEFAULT_MAX_QUEUED = 1000
_NAME = r"[A-Za-z_][A-Za-z0-9_]*"
# $$ | ${NAME} ${NAME:-default} ${NAME-default} ${NAME:?message} ${NAME?message} | $NAME
_PLACEHOLDER = re.compile(rf"\$\$|\$\{{({_NAME})(?:(:?[-?])([^}}]*))?\}}|\$({_NAME})")


# --- reading the files the way docker compose and docker build do


def interpolate(text: str) -> str:
    """Compose variable substitution with no variables set except :data:`REQUIRED_BY_COMPOSE`."""

    def replace(match: re.Match[str]) -> str:
        if match.group(0) == "$$":
            return "$"
        name = match.group(1) or match.group(4)
        operator, argument = match.group(2), match.group(3)
        if operator in (":?", "?"):
            assert name in REQUIRED_BY_COMPOSE, f"${{{name}:?...}} is required but has no test value"
            return REQUIRED_BY_COMPOSE[name]
        if operator in (":-", "-"):
            return argument
        return ""

    return _PLACEHOLDER.sub(replace, text)


def raw_environment(service: str) -> dict[str, str]:
    env = SERVICES[service].get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) for item in env)
    return {key: "" if value is None else str(value) for key, value in env.items()}


def environment(service: str) -> dict[str, str]:
    return {key: interpolate(value) for key, value in raw_environment(service).items()}


def dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, continuation lines joined, comments dropped."""
    logical: list[str] = []
    pending = ""
    for line in DOCKERFILE.read_text().splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if stripped.endswith("\\"):
            pending += stripped[:-1] + " "
            continue
        logical.append(pending + stripped)
        pending = ""
    return [(text.split(None, 1)[0].upper(), text.split(None, 1)[1]) for text in logical]


def dockerfile_env() -> dict[str, str]:
    env: dict[str, str] = {}
    for instruction, arguments in dockerfile_instructions():
        if instruction == "ENV":
            for token in shlex.split(arguments):
                key, _, value = token.partition("=")
                env[key] = value
    return env


def dockerfile_cmd() -> list[str]:
    commands = [json.loads(args) for instruction, args in dockerfile_instructions() if instruction == "CMD"]
    assert commands, "the Dockerfile has no CMD"
    return commands[-1]


def settings_of(service: str, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """The settings a process of ``service`` starts with: the image's ENV overridden by the service's."""
    for key in list(os.environ):
        if key.startswith(ENV_PREFIX):
            monkeypatch.delenv(key)
    for key, value in {**dockerfile_env(), **environment(service)}.items():
        if key.startswith(ENV_PREFIX):
            monkeypatch.setenv(key, value)
    return load_settings()


def touchpoints_invocations(service: str) -> list[list[str]]:
    """Every `touchpoints ...` argv the service runs: its command, else the image's CMD (`sh -c` split up)."""
    command = SERVICES[service].get("command", dockerfile_cmd())
    argv = shlex.split(command) if isinstance(command, str) else [str(arg) for arg in command]
    if argv[:2] in (["sh", "-c"], ["/bin/sh", "-c"]):
        steps = [shlex.split(step) for step in re.split(r"&&|;|\n", interpolate(argv[2])) if step.strip()]
    else:
        steps = [argv]
    found = []
    for step in steps:
        while step and (step[0] == "exec" or re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*=.*", step[0])):
            step = step[1:]
        if step and step[0] == "touchpoints":
            found.append(step)
    return found


def option_value(argv: list[str], option: str) -> str | None:
    return argv[argv.index(option) + 1] if option in argv else None


def published_ports(service: str) -> list[tuple[str | None, int]]:
    """(host port or None, container port) for each `ports:` entry, short or long syntax."""
    result: list[tuple[str | None, int]] = []
    for entry in SERVICES[service].get("ports", []):
        if isinstance(entry, dict):
            host = entry.get("published")
            result.append((None if host is None else str(host), int(entry["target"])))
            continue
        parts = interpolate(str(entry)).split("/")[0].split(":")
        result.append((parts[-2] if len(parts) >= 2 else None, int(parts[-1])))
    return result


def mosquitto_conf() -> dict[str, list[str]]:
    """Option -> its values (the last wins, as in Mosquitto); comments dropped."""
    options: dict[str, list[str]] = {}
    for line in MOSQUITTO_CONF.read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            key, *values = line.split()
            options[key] = values
    return options


def volume_target(service: str, source: str) -> str:
    for volume in SERVICES[service].get("volumes", []):
        src, target = str(volume).split(":")[:2]
        if src == source:
            return target
    raise AssertionError(f"{service} mounts nothing from {source}")


# --- the stack


def test_the_default_stack_is_mosquitto_postgres_server_and_simulator():
    default = {name for name, spec in SERVICES.items() if not spec.get("profiles")}
    scale_out = {name for name, spec in SERVICES.items() if "scale-out" in spec.get("profiles", [])}
    assert default == {"mosquitto", "redis", "postgres", "server", "simulator"}
    assert scale_out == {"server-2", "server-3", "api"}


def test_third_party_images_are_official_docker_hub_images_and_ours_is_built_from_the_dockerfile():
    assert SERVICES["mosquitto"]["image"] == "eclipse-mosquitto:2"
    assert SERVICES["postgres"]["image"] == "postgres:16"
    assert SERVICES["redis"]["image"] == "redis:7"
    assert TOUCHPOINTS_SERVICES == ["api", "server", "server-2", "server-3", "simulator"]
    for name in TOUCHPOINTS_SERVICES:
        assert SERVICES[name]["build"] == {"context": ".", "dockerfile": "docs/deploy/Dockerfile"}, name
        assert SERVICES[name]["image"] == "touchpoints:local", name
    assert (REPO / SERVICES["server"]["build"]["dockerfile"]).is_file()


def test_named_volumes_are_declared():
    for name, spec in SERVICES.items():
        for volume in spec.get("volumes", []):
            source = str(volume).split(":")[0]
            if not source.startswith((".", "/")):
                assert source in COMPOSE["volumes"], f"{name} mounts undeclared volume {source}"
            else:
                assert (REPO / source).exists(), f"{name} mounts missing file {source}"


def test_depends_on_names_existing_services_and_waits_for_health_only_where_there_is_a_healthcheck():
    for name, spec in SERVICES.items():
        for dependency, condition in (spec.get("depends_on") or {}).items():
            assert dependency in SERVICES, f"{name} depends on unknown service {dependency}"
            if condition["condition"] == "service_healthy":
                assert "healthcheck" in SERVICES[dependency], f"{name} waits for {dependency}'s health"
    assert SERVICES["server"]["depends_on"] == {
        "postgres": {"condition": "service_healthy"},
        "mosquitto": {"condition": "service_healthy"},
        "redis": {"condition": "service_healthy"},
    }
    # The simulator publishes only once ingest is subscribed and the migrations are applied.
    assert SERVICES["simulator"]["depends_on"]["server"] == {"condition": "service_healthy"}


# --- configuration: names and values


def test_every_touchpoints_variable_is_a_real_setting():
    sources = {f"service {name}": raw_environment(name) for name in SERVICES}
    sources["Dockerfile"] = dockerfile_env()
    for source, env in sources.items():
        for key in env:
            if key.startswith(ENV_PREFIX):
                assert key[len(ENV_PREFIX) :].lower() in Settings.model_fields, f"{source}: unknown {key}"


@pytest.mark.parametrize("service", TOUCHPOINTS_SERVICES)
def test_every_touchpoints_service_environment_passes_settings_validation(service, monkeypatch):
    settings = settings_of(service, monkeypatch)  # raises ConfigError naming the variable if not
    assert settings.database_url.startswith("postgresql://")
    assert settings.event_id == "demo"


def test_the_admin_token_must_be_set_by_the_operator(monkeypatch):
    for name in INGEST_WORKERS:
        token = raw_environment(name)["TOUCHPOINTS_ADMIN_TOKEN"]
        assert re.fullmatch(r"\$\{TOUCHPOINTS_ADMIN_TOKEN:\?[^}]+\}", token), name
    settings = settings_of("server", monkeypatch)
    assert settings.admin_token is not None
    assert settings.admin_token.get_secret_value() == "test-admin-token"


def test_the_server_listens_on_all_interfaces_and_publishes_its_http_port(monkeypatch):
    settings = settings_of("server", monkeypatch)
    assert settings.http_host == "0.0.0.0"
    assert settings.http_port == 8000
    assert published_ports("server") == [("8000", settings.http_port)]


def test_the_server_healthcheck_asks_healthz_on_the_http_port_with_python(monkeypatch):
    from server.api.routes.health import router

    settings = settings_of("server", monkeypatch)
    test = SERVICES["server"]["healthcheck"]["test"]
    assert test[:3] == ["CMD", "python", "-c"]  # python:3.11-slim has no curl
    url = re.search(r"http://[^'\"]+", test[3]).group(0)
    assert url == f"http://127.0.0.1:{settings.http_port}/healthz"
    assert "/healthz" in {route.path for route in router.routes}


def test_the_database_url_names_the_postgres_service_and_its_credentials(monkeypatch):
    url = make_url(settings_of("server", monkeypatch).database_url)
    postgres = environment("postgres")
    assert url.host == "postgres"
    assert url.port in (None, 5432)
    assert url.username == postgres["POSTGRES_USER"] == "touchpoints"
    assert url.password == postgres["POSTGRES_PASSWORD"] == "touchpoints"
    assert url.database == postgres["POSTGRES_DB"] == "touchpoints"
    assert SERVICES["postgres"]["healthcheck"]["test"][0] == "CMD-SHELL"
    assert SERVICES["postgres"]["healthcheck"]["test"][1].startswith("pg_isready ")
    assert volume_target("postgres", "postgres-data") == "/var/lib/postgresql/data"


def test_the_mqtt_url_names_the_mosquitto_service_and_its_listener_port(monkeypatch):
    broker = parse_mqtt_url(settings_of("server", monkeypatch).mqtt_url)
    assert (broker.host, broker.port, broker.tls) == ("mosquitto", 1883, False)
    assert mosquitto_conf()["listener"] == [str(broker.port)]
    assert published_ports("mosquitto") == [("1883", broker.port)]


# --- Mosquitto


def test_mosquitto_reads_our_config_and_persists_to_its_volume():
    config = volume_target("mosquitto", "./docs/deploy/mosquitto/mosquitto.conf")
    assert config == "/mosquitto/config/mosquitto.conf"  # where the image's CMD reads it
    conf = mosquitto_conf()
    assert conf["persistence"] == ["true"]
    assert conf["persistence_location"][0].rstrip("/") == volume_target("mosquitto", "mosquitto-data")


def test_mosquitto_holds_what_arrives_while_the_server_restarts(monkeypatch):
    conf = mosquitto_conf()
    assert int(conf["max_queued_messages"][0]) >= 1000 * MOSQUITTO_DEFAULT_MAX_QUEUED
    assert "persistent_client_expiration" not in conf  # expiring the ingest session would discard its queue
    # Ingest acknowledges a batch after its commit: a whole batch (and the next) must be in flight at once.
    batch_max = settings_of("server", monkeypatch).ingest_batch_max
    assert int(conf["max_inflight_messages"][0]) >= 2 * batch_max


def test_mosquitto_healthcheck_reads_a_retained_sys_topic_on_the_listener():
    test = SERVICES["mosquitto"]["healthcheck"]["test"]
    assert test[:2] == ["CMD", "mosquitto_sub"]
    assert option_value(test, "-p") == mosquitto_conf()["listener"][0]
    assert interpolate(option_value(test, "-t")) == "$SYS/broker/version"


# --- scaling ingest


def test_ingest_workers_share_one_subscription_with_a_client_id_each(monkeypatch):
    workers = {name: settings_of(name, monkeypatch) for name in INGEST_WORKERS}
    assert {s.mqtt_shared_group for s in workers.values()} == {"ingest"}
    assert [s.mqtt_client_id for s in workers.values()] == [
        "touchpoints-ingest-1",
        "touchpoints-ingest-2",
        "touchpoints-ingest-3",
    ]
    assert len({(s.database_url, s.mqtt_url, s.event_id, s.mqtt_topic_prefix) for s in workers.values()}) == 1
    # Only the first publishes a host port; the others are reached on the compose network.
    assert published_ports("server-2") == published_ports("server-3") == []
    # They start once the first server has applied the migrations.
    after_the_first = {"server": {"condition": "service_healthy"}}
    assert SERVICES["server-2"]["depends_on"] == SERVICES["server-3"]["depends_on"] == after_the_first


# --- scaling out: one live worker, Redis, API workers (docs/scaling.md)


SERVERS = [*INGEST_WORKERS, "api"]


def test_one_live_worker_and_every_server_on_the_same_redis(monkeypatch):
    servers = {name: settings_of(name, monkeypatch) for name in SERVERS}
    assert [name for name, s in servers.items() if s.live_enabled] == ["server"]
    assert len({s.redis_url for s in servers.values()}) == 1
    url = urlparse(servers["server"].redis_url)
    assert (url.scheme, url.hostname, url.port or 6379) == ("redis", "redis", 6379)
    assert SERVICES["server"]["depends_on"]["redis"] == {"condition": "service_healthy"}
    # Redis holds transient fan-out and a capped stream only: no persistence to configure or back up.
    command = SERVICES["redis"]["command"]
    assert command[0] == "redis-server" and option_value(command, "--appendonly") == "no"


def test_api_workers_hold_no_mqtt_session_and_can_be_scaled(monkeypatch):
    api = settings_of("api", monkeypatch)
    assert (api.ingest_enabled, api.live_enabled) == (False, False)
    # `--scale api=N` works: no host port to collide on, no client id that must stay unique.
    assert published_ports("api") == []
    assert "TOUCHPOINTS_MQTT_CLIENT_ID" not in raw_environment("api")
    assert api.mqtt_url  # set, so that `touchpoints serve` starts no embedded broker
    assert SERVICES["api"]["depends_on"] == {"server": {"condition": "service_healthy"}}


# --- the simulator


def test_the_simulator_publishes_to_the_servers_broker_and_seeds_its_database(monkeypatch):
    server = settings_of("server", monkeypatch)
    simulator = settings_of("simulator", monkeypatch)
    (argv,) = [argv for argv in touchpoints_invocations("simulator") if argv[1] == "simulate"]
    assert parse_mqtt_url(option_value(argv, "--mqtt")) == parse_mqtt_url(server.mqtt_url)
    database = "TOUCHPOINTS_DATABASE_URL"
    assert raw_environment("simulator")[database] == raw_environment("server")[database]
    assert (simulator.database_url, simulator.event_id, simulator.mqtt_topic_prefix) == (
        server.database_url,
        server.event_id,
        server.mqtt_topic_prefix,
    )
    assert "--seed-db" in argv
    assert (option_value(argv, "--attendees"), option_value(argv, "--speed")) == ("300", "10")


def test_seed_and_simulate_in_one_service_describe_the_same_conference():
    for service in TOUCHPOINTS_SERVICES:
        invocations = [argv for argv in touchpoints_invocations(service) if argv[1] in ("seed", "simulate")]
        for option in ("--seed", "--attendees", "--start"):
            assert len({option_value(argv, option) for argv in invocations}) <= 1, (service, option)


# --- the image and the commands


def test_the_dockerfile_installs_the_server_extra_as_a_non_root_user_and_runs_touchpoints_serve():
    instructions = dockerfile_instructions()
    assert instructions[0] == ("FROM", "python:3.11-slim")
    assert ("RUN", "pip install '.[server]'") in instructions
    users = [arguments for instruction, arguments in instructions if instruction == "USER"]
    assert users and users[-1] not in ("root", "0")
    assert dockerfile_cmd() == ["touchpoints", "serve"]
    copied = [arguments.split()[0] for instruction, arguments in instructions if instruction == "COPY"]
    for source in copied:
        assert (REPO / source).exists(), f"COPY {source}: not in the repository"


@pytest.mark.parametrize("service", TOUCHPOINTS_SERVICES)
def test_every_command_is_a_touchpoints_command_with_real_options_and_valid_values(service):
    group = typer.main.get_command(app)  # typer's click conversion: what the console script runs
    invocations = touchpoints_invocations(service)
    assert invocations, f"{service} runs no touchpoints command"
    for argv in invocations:
        name, args = argv[1], argv[2:]
        command = group.commands.get(name)
        assert command is not None, f"{service}: `touchpoints {name}` does not exist"
        known = {opt for param in command.params for opt in (*param.opts, *param.secondary_opts)}
        for token in args:
            if token.startswith("--"):
                assert token.split("=", 1)[0] in known, f"{service}: `touchpoints {name}` has no {token}"
        command.make_context(name, list(args))  # click parses and converts: types and ranges hold


def test_the_server_services_run_the_images_command():
    for name in INGEST_WORKERS:
        assert "command" not in SERVICES[name]
        assert touchpoints_invocations(name) == [["touchpoints", "serve"]]
