"""The native SDK fixtures (real OpenAI / Anthropic clients on the fake provider)."""

from tests.native.conftest import fake, make_anthropic, make_openai, native

__all__ = ["fake", "make_anthropic", "make_openai", "native"]
