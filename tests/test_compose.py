"""docker-compose.yml and deploy/: no Docker engine runs here, so the structure is checked, and
every command and setting a service uses must exist in the CLI and the settings modules."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from web.app.cli import build_parser

yaml = pytest.importorskip("yaml")

REPO = Path(__file__).resolve().parent.parent
WEB_SERVICES = ("junta1", "junta2")
MEDIA_SERVICES = ("media1", "media2")
EXPECTED = {"nginx", "junta1", "junta2", "media1", "media2", "redis", "postgres", "coturn",
            "backup"}
_SETTING = re.compile(r'"(JUNTA_[A-Z0-9_]+)"')


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((REPO / "docker-compose.yml").read_text())
    return loaded


def settings_read_by(*modules: str) -> set[str]:
    """Every JUNTA_* variable name the given source files read."""
    found: set[str] = set()
    for module in modules:
        found |= set(_SETTING.findall((REPO / module).read_text()))
    return found


def test_the_topology_has_every_service_with_a_health_check(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert set(services) == EXPECTED
    for name, service in services.items():
        check = service.get("healthcheck")
        assert check and check["test"][0] == "CMD" and len(check["test"]) > 1, name
        assert service.get("restart") == "unless-stopped", name


def test_state_lives_in_named_volumes(compose: dict[str, Any]) -> None:
    declared = set(compose["volumes"])
    assert {"pgdata", "redisdata", "recordings", "storage", "backups"} <= declared
    services = compose["services"]

    def mounts(name: str) -> dict[str, str]:
        found = {}
        for entry in services[name].get("volumes", []):
            source, target = entry.split(":")[:2]
            found[target] = source
        return found

    assert mounts("postgres")["/var/lib/postgresql/data"] == "pgdata"
    assert mounts("redis")["/data"] == "redisdata"
    assert "--appendonly" in services["redis"]["command"]  # a restart keeps calls' rooms
    for name in WEB_SERVICES:
        # Both processes see the same attachments and recordings.
        assert mounts(name) == {"/data/recordings": "recordings", "/data/storage": "storage"}
    for name in MEDIA_SERVICES:
        assert mounts(name)["/data/recordings"] == "recordings"
    for name, service in services.items():
        for entry in service.get("volumes", []):
            source = entry.split(":")[0]
            if source.startswith("./"):
                assert (REPO / source).exists() or source == "./deploy/certs", (name, source)
            else:
                assert source in declared, (name, source)


def test_every_junta_command_parses(compose: dict[str, Any]) -> None:
    parser = build_parser()
    commands = {}
    for name, service in compose["services"].items():
        command = service.get("command")
        if isinstance(command, list) and command[0] == "junta":
            commands[name] = parser.parse_args(command[1:]).command
            assert service.get("build") == "." and service.get("image") == "junta:latest", name
    assert commands == {"junta1": "serve", "junta2": "serve", "media1": "media",
                        "media2": "media"}
    assert (REPO / "Dockerfile").is_file()


def test_every_setting_a_service_uses_exists(compose: dict[str, Any]) -> None:
    web_settings = settings_read_by("web/app/settings.py")
    media_settings = settings_read_by("media/settings.py", "web/app/settings.py")
    services = compose["services"]
    for name in WEB_SERVICES:
        used = {k for k in services[name]["environment"] if k.startswith("JUNTA_")}
        assert used - web_settings == set(), name
    for name in MEDIA_SERVICES:
        used = {k for k in services[name]["environment"] if k.startswith("JUNTA_")}
        assert used - media_settings == set(), name


def test_the_web_processes_share_calls_and_secrets(compose: dict[str, Any]) -> None:
    first, second = (compose["services"][n] for n in WEB_SERVICES)
    assert first["environment"] == second["environment"]
    # One schema upgrade at a time: the second process starts once the first is ready.
    assert second["depends_on"]["junta1"]["condition"] == "service_healthy"
    env = first["environment"]
    assert urlsplit(env["JUNTA_REDIS_URL"]).hostname == "redis"
    assert env["JUNTA_DATABASE_URL"].startswith("postgresql+asyncpg://")
    assert "@postgres:5432/" in env["JUNTA_DATABASE_URL"]
    assert env["JUNTA_LOG_FORMAT"] in ("json", "text")
    assert "/readyz" in " ".join(first["healthcheck"]["test"])
    turn = env["JUNTA_TURN_URLS"].split(",")
    assert any("transport=udp" in u for u in turn) and any("transport=tcp" in u for u in turn)
    assert any(u.startswith("turns:") and ":443" in u for u in turn)
    for dependency in ("postgres", "redis"):
        for service in (first, second):
            assert service["depends_on"][dependency]["condition"] == "service_healthy"


def test_the_media_nodes_register_where_the_web_processes_place_rooms(
    compose: dict[str, Any],
) -> None:
    services = compose["services"]
    secret_variable = re.compile(r"\$\{(JUNTA_MEDIA_SECRET)\b")
    web_env = services[WEB_SERVICES[0]]["environment"]
    # No fixed node: rooms go to the nodes registered in Redis.
    assert web_env["JUNTA_MEDIA_FLEET"] == "true" and "JUNTA_MEDIA_URL" not in web_env
    # "host address:host port:container port"
    redis_ports = {int(p.split(":")[1]) for p in services["redis"].get("ports", [])}
    ports = set()
    for name in MEDIA_SERVICES:
        media = services[name]
        env = media["environment"]
        # The same Redis and key prefix as the web processes (the host's loopback, when the
        # node is on the host's network and the web processes are not).
        redis_url = urlsplit(env["JUNTA_REDIS_URL"])
        if media.get("network_mode") == "host":
            assert redis_url.hostname == "127.0.0.1" and redis_url.port in redis_ports, name
            assert all(p.startswith("127.0.0.1:") for p in services["redis"]["ports"])
        else:
            assert redis_url.hostname == "redis", name
        assert env.get("JUNTA_REDIS_PREFIX") == web_env.get("JUNTA_REDIS_PREFIX"), name
        assert 1 <= float(env["JUNTA_MEDIA_NODE_TTL"]) <= 60, name
        # What it advertises reaches its API from the web containers.
        advertised = urlsplit(env["JUNTA_MEDIA_ADVERTISE_URL"])
        assert advertised.scheme == "http", name
        assert str(advertised.port) == env["JUNTA_MEDIA_PORT"], name
        assert f":{env['JUNTA_MEDIA_PORT']}/healthz" in " ".join(media["healthcheck"]["test"])
        ports.add(advertised.port)
        for web_name in WEB_SERVICES:
            web_service = services[web_name]
            if media.get("network_mode") == "host":
                assert advertised.hostname == "host.docker.internal", name
                assert "host.docker.internal:host-gateway" in web_service["extra_hosts"]
            # The same shared secret; recordings where the web processes list and play them.
            assert secret_variable.match(web_service["environment"]["JUNTA_MEDIA_SECRET"])
            assert (web_service["environment"]["JUNTA_RECORDINGS_DIR"]
                    == env["JUNTA_RECORDINGS_DIR"])
        assert secret_variable.match(env["JUNTA_MEDIA_SECRET"]), name
        assert media["depends_on"]["redis"]["condition"] == "service_healthy", name
    assert len(ports) == len(MEDIA_SERVICES)  # on one host network: a port each
    for name in WEB_SERVICES:
        assert services[name]["depends_on"]["media1"]["condition"] == "service_healthy"


def test_nginx_balances_websockets_without_sticky_sessions(compose: dict[str, Any]) -> None:
    conf = (REPO / "deploy" / "nginx.conf").read_text()
    nginx = compose["services"]["nginx"]
    assert "./deploy/nginx.conf:/etc/nginx/nginx.conf:ro" in nginx["volumes"]
    upstream = re.search(r"upstream junta \{(.*?)\}", conf, re.S)
    assert upstream is not None
    assert re.findall(r"server (\S+?):8080", upstream.group(1)) == list(WEB_SERVICES)
    directives = [line.split("#")[0] for line in conf.splitlines()]
    assert not any("ip_hash" in d or "sticky" in d for d in directives)
    assert "hash " not in upstream.group(1)
    assert "proxy_set_header Upgrade $http_upgrade" in conf
    assert "location = /metrics { deny all; }" in conf
    assert conf.count("{") == conf.count("}")
    assert {p.rsplit(":", 2)[-1] for p in nginx["ports"]} == {"80", "443"}


def test_coturn_serves_udp_tcp_and_tls_on_443_with_a_shared_secret(
    compose: dict[str, Any],
) -> None:
    coturn = compose["services"]["coturn"]
    command = coturn["command"]
    assert "/etc/coturn/turnserver.conf" in command
    assert any(arg.startswith("--static-auth-secret=${JUNTA_TURN_SECRET") for arg in command)
    conf = dict(
        [*line.split("=", 1), ""][:2]
        for line in (REPO / "deploy" / "turnserver.conf").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    )
    assert conf["listening-port"] == "3478" and conf["tls-listening-port"] == "443"
    assert "use-auth-secret" in conf and "static-auth-secret" not in conf  # not in the file
    assert "no-udp" not in conf and "no-tcp" not in conf and "no-tls" not in conf
    assert coturn["network_mode"] == "host"


def test_redis_asks_every_client_for_a_password(compose: dict[str, Any]) -> None:
    """Issue 20.2: Redis holds the calls' state and the media nodes' registrations."""
    services = compose["services"]
    redis = services["redis"]
    command = redis["command"]
    password = command[command.index("--requirepass") + 1]
    assert re.fullmatch(r"\$\{JUNTA_REDIS_PASSWORD:\?[^}]+\}", password)
    assert "redis-cli" in redis["healthcheck"]["test"]
    assert redis["environment"]["REDISCLI_AUTH"].startswith("${JUNTA_REDIS_PASSWORD")
    for name in (*WEB_SERVICES, *MEDIA_SERVICES):
        url = urlsplit(services[name]["environment"]["JUNTA_REDIS_URL"])
        assert url.username == "" and url.password is not None, name
        assert url.password == "${JUNTA_REDIS_PASSWORD}", name


def test_coturn_relays_udp_to_the_media_nodes_and_no_private_range(
    compose: dict[str, Any],
) -> None:
    """Issue 20.2 (tests/test_turnserver.py runs the file in coturn)."""
    lines = [line.strip() for line in
             (REPO / "deploy" / "turnserver.conf").read_text().splitlines()
             if line.strip() and not line.startswith("#")]
    assert "no-tcp-relay" in lines and "no-multicast-peers" in lines
    denied = {line.split("=", 1)[1] for line in lines if line.startswith("denied-peer-ip=")}
    for start in ("0.0.0.0", "10.0.0.0", "100.64.0.0", "127.0.0.0", "169.254.0.0",
                  "172.16.0.0", "192.168.0.0", "fc00::", "fe80::"):
        assert any(r.split("-")[0] == start for r in denied), start
    assert not any(line.startswith("allowed-peer-ip") for line in lines)
    command = compose["services"]["coturn"]["command"]
    assert "--allowed-peer-ip=${JUNTA_MEDIA_IP:?set JUNTA_MEDIA_IP}" in command


def test_the_web_processes_trust_nginx_and_only_nginx_for_the_client_address(
    compose: dict[str, Any],
) -> None:
    from ipaddress import ip_address, ip_network

    from web.http.forwarded import parse_proxies

    services = compose["services"]
    nginx_ip = ip_address(services["nginx"]["networks"]["default"]["ipv4_address"])
    [subnet] = compose["networks"]["default"]["ipam"]["config"]
    assert nginx_ip in ip_network(subnet["subnet"])
    for name in WEB_SERVICES:
        trusted = parse_proxies(services[name]["environment"]["JUNTA_TRUSTED_PROXIES"])
        assert trusted == (ip_network(f"{nginx_ip}/32"),)
    assert "X-Forwarded-For $proxy_add_x_forwarded_for" in (REPO / "deploy/nginx.conf").read_text()


def test_a_daily_backup_of_everything_goes_into_its_volume(compose: dict[str, Any]) -> None:
    """Issue 27: `junta backup` once a day, encrypted, old ones pruned, while the app serves."""
    services = compose["services"]
    backup = services["backup"]
    shell, flag, script = backup["command"]
    assert (shell, flag) == ("sh", "-c")
    loop = re.fullmatch(r"while true; do (junta backup .*?) \|\| .*; sleep (\d+); done", script)
    assert loop is not None, script
    assert int(loop.group(2)) == 86400
    # Compose puts the number of days in: parse with its default.
    command = loop.group(1).replace("${JUNTA_BACKUP_KEEP_DAYS:-14}", "14")
    args = build_parser().parse_args(command.split()[1:])
    assert args.keep_days == 14
    assert args.command == "backup" and str(args.path) == "/backups" and not args.verify
    assert str(args.key) == "/run/secrets/backup_key" and not args.no_recordings
    assert "${JUNTA_BACKUP_KEEP_DAYS:-14}" in script
    assert backup["secrets"] == ["backup_key"] and "backup_key" in compose["secrets"]
    assert backup.get("build") == "." and backup.get("image") == "junta:latest"
    # The same database and files as the web processes; the files only read.
    web = services[WEB_SERVICES[0]]
    assert backup["environment"] == web["environment"]
    assert sorted(backup["volumes"]) == sorted([
        "recordings:/data/recordings:ro", "storage:/data/storage:ro", "backups:/backups"])
    assert backup["depends_on"]["postgres"]["condition"] == "service_healthy"


def test_the_nginx_image_reads_the_http2_directive_and_says_so(compose: dict[str, Any]) -> None:
    conf = (REPO / "deploy" / "nginx.conf").read_text()
    if not re.search(r"^\s*http2 on;", conf, re.M):
        return
    # `http2 on;` came with nginx 1.25.1; an older nginx refuses the whole file.
    tag = compose["services"]["nginx"]["image"].split(":", 1)[1]
    version = tuple(int(n) for n in re.findall(r"\d+", tag.split("-")[0]))
    assert version >= (1, 25, 1), tag
    lines = (REPO / "docker-compose.yml").read_text().splitlines()
    image = next(i for i, line in enumerate(lines) if line.strip().startswith("image: nginx:"))
    assert "1.25.1" in lines[image - 1] and "http2 on" in lines[image - 1]
    assert "1.25.1" in conf
