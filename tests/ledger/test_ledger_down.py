"""When the ledger is unreachable: on_ledger_error decides, genops keeps serving,
and the ledger reconnects by itself when the backend is back."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

import genops
from genops import attributes as A
from genops.ledger.guard import GuardedLedger
from genops.policy import Engine, ManualClock
from genops.policy.loader import build_engine
from tests.conftest import Telemetry

PRICES = [{"provider": "openai", "model": "acme-*", "input": 1000, "output": 1000}]
REQUEST = genops.RequestEstimate(input_tokens=100, max_output_tokens=100)


def policy(on_ledger_error: str | None = None, **extra: Any) -> dict[str, Any]:
    spec: dict[str, Any] = {"name": "spend", "type": "budget", "limit": 10, "window": "daily"}
    if on_ledger_error:
        spec["on_ledger_error"] = on_ledger_error
    return {"version": 1, "policies": [spec], **extra}


def call() -> None:
    with genops.governed("reply", provider="openai", model="acme-1", request=REQUEST) as unit:
        unit.record_usage(input_tokens=100, output_tokens=100)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def unreachable(kind: str, tmp_path: Path) -> str:
    """A ledger URL whose backend cannot be reached."""
    if kind == "redis":
        return f"redis://127.0.0.1:{free_port()}/0"
    if kind == "postgres":
        return f"postgresql://root@127.0.0.1:{free_port()}/test"
    return f"sqlite:///{tmp_path / 'missing-dir' / 'ledger.db'}"


def last_policy(telemetry: Telemetry) -> tuple[Any, Any]:
    attrs = dict(telemetry.spans()[-1].attributes or {})
    return attrs[A.POLICY_RESULT], attrs.get(A.POLICY_REASON_CODE)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def start(
    make_genops: Callable[..., genops.GenOps], clock: ManualClock
) -> Callable[..., genops.GenOps]:
    def make(doc: dict[str, Any], ledger: str) -> genops.GenOps:
        return make_genops(policy=build_engine(doc, ledger=ledger, clock=clock), prices=PRICES)

    return make


def guard() -> GuardedLedger:
    engine = genops.get_runtime().engine
    assert isinstance(engine, Engine) and isinstance(engine.ledger, GuardedLedger)
    return engine.ledger


@pytest.mark.parametrize("kind", ["redis", "sqlite", "postgres"])
def test_fail_open_is_the_default_and_warns(
    start: Callable[..., genops.GenOps], telemetry: Telemetry, tmp_path: Path, kind: str
) -> None:
    url = unreachable(kind, tmp_path)
    start(policy(), url)
    call()  # runs
    assert last_policy(telemetry) == ("WARNING", "x_ledger_unavailable")
    (ev,) = [e for e in telemetry.spans()[-1].events if e.name == A.EVENT_POLICY_EVALUATED]
    assert "fail_open" in str(ev.attributes[A.POLICY_REASON])  # type: ignore[index]


@pytest.mark.parametrize("kind", ["redis", "sqlite", "postgres"])
def test_fail_closed_blocks(
    start: Callable[..., genops.GenOps], telemetry: Telemetry, tmp_path: Path, kind: str
) -> None:
    url = unreachable(kind, tmp_path)
    start(policy("fail_closed"), url)
    with pytest.raises(genops.PolicyViolationError) as err:
        call()
    assert err.value.reason_code == "x_ledger_unavailable"
    assert last_policy(telemetry) == ("BLOCKED", "x_ledger_unavailable")


def test_sqlite_ledger_recovers_when_the_file_becomes_available(
    start: Callable[..., genops.GenOps], telemetry: Telemetry, tmp_path: Path, clock: ManualClock
) -> None:
    directory = tmp_path / "later"
    start(policy("fail_closed"), f"sqlite:///{directory / 'ledger.db'}")
    with pytest.raises(genops.PolicyViolationError):
        call()
    directory.mkdir()
    with pytest.raises(genops.PolicyViolationError):
        call()  # within ledger_retry_after (5 s): not retried yet
    clock.advance(5)
    call()
    assert last_policy(telemetry) == ("ALLOWED", None)


class RedisProcess:
    """A private redis-server on its own port that the test can stop and restart."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        server = shutil.which("redis-server")
        assert server is not None
        self.proc = subprocess.Popen(
            [server, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(timeout=10)
            self.proc = None


@pytest.fixture
def private_redis() -> Iterator[RedisProcess]:
    if shutil.which("redis-server") is None:
        pytest.skip("redis-server is not installed")
    server = RedisProcess(free_port())
    server.start()
    yield server
    server.stop()


@pytest.mark.redis
def test_redis_outage_then_reconnect(
    start: Callable[..., genops.GenOps],
    telemetry: Telemetry,
    private_redis: RedisProcess,
    clock: ManualClock,
) -> None:
    start(policy(), f"redis://127.0.0.1:{private_redis.port}/0")
    call()
    assert last_policy(telemetry) == ("ALLOWED", None)

    # the server goes away between reservation and settlement: the call still completes
    unit = genops.governed("reply", provider="openai", model="acme-1", request=REQUEST)
    with unit:
        private_redis.stop()
        unit.record_usage(input_tokens=100, output_tokens=100)
    span = telemetry.spans()[-1]
    assert [e.name for e in span.events].count(A.EVENT_BUDGET_RECONCILIATION) == 1

    call()  # down: fail_open
    assert last_policy(telemetry) == ("WARNING", "x_ledger_unavailable")

    private_redis.start()  # back (empty: it kept nothing on disk)
    clock.advance(5)  # ledger_retry_after
    call()
    assert last_policy(telemetry) == ("ALLOWED", None)
    assert genops.budget_status("spend").consumed == pytest.approx(0.2)


def test_an_unreachable_ledger_is_not_retried_on_every_call(
    start: Callable[..., genops.GenOps], telemetry: Telemetry, tmp_path: Path, clock: ManualClock
) -> None:
    doc = policy(defaults={"ledger_retry_after": "30s"})
    start(doc, unreachable("redis", tmp_path))
    for _ in range(3):
        call()
        assert last_policy(telemetry) == ("WARNING", "x_ledger_unavailable")
    assert (guard().failures, guard().refused) == (3, 2)  # tried once, then failed fast
    clock.advance(30)
    call()
    assert (guard().failures, guard().refused) == (4, 2)  # tried again after 30 s
