"""atc_fleet: the agent-side client of atc-fleet (docs/python.md).

    from atc_fleet import Client
    c = Client()
    r = c.wait(c.submit(code=tool, tests=tests), timeout=300)
"""

from ._job import uuid7
from ._result import Result, TestCase
from .client import (CANCEL_ALREADY_FINAL, CANCEL_DONE, CANCEL_REQUESTED, CANCEL_UNKNOWN,
                     Client, RaceResult, SubmitError, WaitAllTimeout)
from .manager import DaytonaManager, run_code_with_tests

__all__ = ["Client", "RaceResult", "Result", "TestCase", "SubmitError", "WaitAllTimeout", "DaytonaManager",
           "run_code_with_tests", "uuid7", "CANCEL_ALREADY_FINAL", "CANCEL_DONE",
           "CANCEL_REQUESTED", "CANCEL_UNKNOWN"]
__version__ = "0.1.0"
