"""A stateful NetScaler NITRO appliance over HTTP on loopback, for tests, the demo and benchmarks.

It imports nothing from nsfix: a mock that reused the client's own encoding or parsing would
agree with every bug in it.
"""

from mocks.appliance import Appliance
from mocks.envelopes import NitroError
from mocks.faults import FaultError, Faults
from mocks.scenario import ScenarioError
from mocks.server import MockServer

__all__ = ["Appliance", "FaultError", "Faults", "MockServer", "NitroError", "ScenarioError"]
