"""Fixtures of the Haystack tests: the loopback fake OpenAI server at a gateway-style URL."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.fakes.provider import FakeProvider


@pytest.fixture
def fake() -> FakeProvider:
    return FakeProvider()


@pytest.fixture
def base_url(fake: FakeProvider) -> Iterator[str]:
    with fake.serve() as url:
        yield f"{url}/v1"
