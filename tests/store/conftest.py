"""Fixtures of the store tests."""

from tests.demo_fixture import demo_run

__all__ = ["demo_run"]
