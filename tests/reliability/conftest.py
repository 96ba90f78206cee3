"""The native SDK fixtures (real OpenAI / Anthropic clients on the fake provider) and a
private ``redis-server`` per test."""

from tests.native.conftest import fake, make_anthropic, make_openai, native
from tests.reliability.servers import redis_server

__all__ = ["fake", "make_anthropic", "make_openai", "native", "redis_server"]
