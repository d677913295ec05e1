"""The school deployment (docker-compose.yml + deploy/nginx.conf), checked without a Docker
engine: structure, health checks and start order from the YAML itself, and `docker-compose
config` (offline schema validation) when that client is installed."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "docker-compose.yml"
ENV = {"POSTGRES_PASSWORD": "pw", "GROUNDWORK_COOKIE_KEY": "k" * 40}


@pytest.fixture(scope="module")
def services() -> dict:
    return yaml.safe_load(COMPOSE.read_text())["services"]


def test_the_stack_has_every_part(services):
    assert set(services) == {
        "postgres",
        "chroma",
        "migrate",
        "app-1",
        "app-2",
        "worker-1",
        "worker-2",
        "proxy",
    }


def test_start_order_waits_for_health(services):
    assert services["migrate"]["depends_on"] == {"postgres": {"condition": "service_healthy"}}
    for name in ("app-1", "app-2", "worker-1", "worker-2"):
        deps = services[name]["depends_on"]
        assert deps["migrate"] == {"condition": "service_completed_successfully"}
        assert deps["chroma"] == {"condition": "service_healthy"}
    assert services["proxy"]["depends_on"] == {
        "app-1": {"condition": "service_healthy"},
        "app-2": {"condition": "service_healthy"},
    }
    for name in ("postgres", "chroma", "app-1", "app-2", "proxy"):
        assert services[name]["healthcheck"]["test"], name


def test_apps_only_queue_and_workers_run_jobs(services):
    for name in ("app-1", "app-2"):
        env = services[name]["environment"]
        assert env["GROUNDWORK_EMBEDDED_WORKER"] == "false"
        assert "command" not in services[name]  # the image's streamlit command
        assert "ports" not in services[name]  # reached only through the proxy
    for name in ("worker-1", "worker-2"):
        assert services[name]["command"] == ["python", "-m", "engine", "worker"]
    assert services["migrate"]["command"] == ["python", "-m", "engine", "migrate"]
    # Apps and workers share one database, one Chroma server and one spool folder.
    parts = [services[n] for n in ("app-1", "app-2", "worker-1", "worker-2")]
    assert len({p["environment"]["DATABASE_URL"] for p in parts}) == 1
    assert {p["environment"]["CHROMA_HOST"] for p in parts} == {"chroma"}
    assert {tuple(p["volumes"]) for p in parts} == {("appdata:/app/data",)}


def test_the_proxy_is_sticky_and_passes_websockets(services):
    assert services["proxy"]["ports"] == ["8501:80"]
    conf = (ROOT / "deploy" / "nginx.conf").read_text()
    upstream = re.search(r"upstream groundwork \{(.*?)\}", conf, re.S).group(1)
    assert "ip_hash;" in upstream
    assert re.findall(r"server (\S+):8501", upstream) == ["app-1", "app-2"]
    assert "proxy_set_header Upgrade $http_upgrade;" in conf
    assert "proxy_set_header Connection $connection_upgrade;" in conf
    mount = services["proxy"]["volumes"][0]
    assert mount.startswith("./deploy/nginx.conf:")


def _compose_config(path: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["docker-compose", "-f", str(path), "config", "-q"],
        env={**os.environ, **ENV},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_docker_compose_accepts_the_file_and_refuses_a_broken_one(tmp_path):
    if shutil.which("docker-compose") is None:
        reason = "docker-compose (the offline validator) is not installed"
        if os.environ.get("CI"):
            pytest.fail(reason + " (CI installs it: .ci/run)")
        pytest.skip(reason)
    done = _compose_config(COMPOSE)
    assert done.returncode == 0, done.stderr
    broken = tmp_path / "docker-compose.yml"
    broken.write_text(
        COMPOSE.read_text().replace("condition: service_healthy", "condition: when_ready", 1)
    )
    assert _compose_config(broken).returncode != 0


def _server_block() -> str:
    conf = (ROOT / "deploy" / "nginx.conf").read_text()
    return conf[conf.index("server {") :]


def _location(server: str, prefix: str) -> str:
    return re.search(rf"location {re.escape(prefix)} \{{(.*?)\}}", server, re.S).group(1)


def test_the_apps_count_logins_by_the_address_the_proxy_saw(services):
    """Behind the proxy every browser's peer is the proxy: the apps read the header the proxy
    sets from the real client address, and the proxy overwrites whatever a browser sends."""
    headers = {
        services[n]["environment"].get("GROUNDWORK_CLIENT_ADDRESS_HEADER")
        for n in ("app-1", "app-2")
    }
    assert headers == {"X-Real-IP"}
    assert f"proxy_set_header {headers.pop()} $remote_addr;" in _location(_server_block(), "/")


def test_the_proxy_sends_security_headers_and_keeps_metrics_private():
    server = _server_block()
    headers = dict(re.findall(r"^\s*add_header (\S+) (.+?) always;$", server, re.M))
    assert headers["X-Content-Type-Options"] == '"nosniff"'
    assert headers["Referrer-Policy"] == '"same-origin"'
    assert headers["Content-Security-Policy"] == "\"frame-ancestors 'self'\""
    assert headers["X-Frame-Options"] == '"SAMEORIGIN"'
    # HSTS is sent only over TLS: the value is empty (so nginx sends nothing) for http.
    assert headers["Strict-Transport-Security"] == "$hsts"
    hsts = re.search(
        r"map \$scheme \$hsts \{(.*?)\}", (ROOT / "deploy" / "nginx.conf").read_text(), re.S
    ).group(1)
    assert re.search(r'https\s+"max-age=\d{7,}";', hsts)
    assert re.search(r'default\s+"";', hsts)
    # A location's own add_header would silently drop the server's: none has any.
    assert server.count("add_header") == len(headers)
    metrics = _location(server, "^~ /_stcore/metrics")
    assert "proxy_pass" not in metrics and re.search(r"return 40[34];", metrics)
