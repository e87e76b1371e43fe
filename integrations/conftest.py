"""The unit tests' settings hold here too, and in every process these tests start."""

from tests.support import settle_environment

settle_environment()
