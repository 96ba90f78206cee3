"""Ledger fixtures: every backend behind one parametrized ``ledger_url`` fixture.

Redis is the real server on 127.0.0.1:6379; when it is not running the fixture
starts one (``redis-server --daemonize yes``) and skips only if that fails. Each
test gets a unique key prefix and deletes its keys afterwards.
"""

from __future__ import annotations

import shutil
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from genops.ledger import Ledger, open_ledger

REDIS_HOST, REDIS_PORT = "127.0.0.1", 6379


def redis_available() -> str | None:
    """None when a Redis server answers (starting one if needed), else the reason."""
    try:
        import redis
    except ImportError:
        return "the redis client package is not installed"
    client = redis.Redis(host=REDIS_HOST, port=REDIS_PORT, socket_connect_timeout=1)
    try:
        client.ping()
        return None
    except redis.RedisError:
        pass
    server = shutil.which("redis-server")
    if server is None:
        return "Redis is not reachable on 127.0.0.1:6379 and redis-server is not installed"
    subprocess.run(
        [server, "--daemonize", "yes", "--bind", REDIS_HOST, "--port", str(REDIS_PORT),
         "--save", "", "--appendonly", "no"],
        check=False, capture_output=True, timeout=10,
    )  # fmt: skip
    for _ in range(50):
        try:
            client.ping()
            return None
        except redis.RedisError:
            time.sleep(0.1)
    return "Redis is not reachable on 127.0.0.1:6379 and starting redis-server failed"


@pytest.fixture(scope="session")
def redis_server() -> str:
    reason = redis_available()
    if reason is not None:
        pytest.skip(reason)
    return f"redis://{REDIS_HOST}:{REDIS_PORT}/0"


@pytest.fixture
def redis_url(redis_server: str) -> Iterator[str]:
    """A redis:// URL with a unique key prefix; the prefix's keys are deleted afterwards."""
    import redis

    prefix = f"genops-test-{uuid.uuid4().hex[:12]}:"
    yield f"{redis_server}?prefix={prefix}"
    client = redis.Redis.from_url(redis_server)
    keys = list(client.scan_iter(match=f"{prefix}*", count=1000))
    if keys:
        client.delete(*keys)
    client.close()


POSTGRES_URLS = (
    "postgresql://root@127.0.0.1:5432/test",
    "postgresql://postgres@127.0.0.1:5432/test",
)


@pytest.fixture(scope="session")
def postgres_server() -> str:
    """A reachable PostgreSQL URL (trust auth, database ``test``), else skip."""
    try:
        import psycopg
    except ImportError:
        pytest.skip("psycopg is not installed")
    errors = []
    for url in POSTGRES_URLS:
        try:
            psycopg.connect(url, connect_timeout=2).close()
            return url
        except psycopg.Error as exc:
            errors.append(str(exc).strip())
    pytest.skip(f"PostgreSQL is not reachable on 127.0.0.1:5432: {errors}")


@pytest.fixture
def postgres_url(postgres_server: str) -> Iterator[str]:
    """A postgresql:// URL with unique tables; dropped afterwards."""
    import psycopg

    prefix = f"genops_test_{uuid.uuid4().hex[:10]}_"
    yield f"{postgres_server}?table_prefix={prefix}"
    with psycopg.connect(postgres_server, autocommit=True) as conn:
        conn.execute(
            f"DROP TABLE IF EXISTS {prefix}consumption, {prefix}reservations, {prefix}markers"
        )


@pytest.fixture(params=["memory", "sqlite", "redis", "postgres"])
def ledger_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The URL of a fresh ledger of each kind."""
    if request.param == "memory":
        return "memory"
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'ledger.db'}"
    url: str = request.getfixturevalue(f"{request.param}_url")
    return url


@pytest.fixture
def make_ledger(ledger_url: str) -> Iterator[Callable[[], Ledger]]:
    """Open (possibly several) ledgers on the same storage; closed afterwards."""
    opened: list[Ledger] = []
    shared: list[Ledger] = []

    def make() -> Ledger:
        if ledger_url == "memory":  # one process: every "connection" is the same store
            if not shared:
                shared.append(open_ledger("memory"))
            return shared[0]
        ledger = open_ledger(ledger_url)
        opened.append(ledger)
        return ledger

    yield make
    for ledger in opened + shared:
        ledger.close()
