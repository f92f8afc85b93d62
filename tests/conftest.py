"""Fixtures shared by the test modules (each kept in its own module, registered here)."""

pytest_plugins = ["tests.pg"]
