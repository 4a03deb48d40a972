"""Fixtures shared by every test folder: the mock appliance on loopback."""

pytest_plugins = ["mocks.fixtures"]
