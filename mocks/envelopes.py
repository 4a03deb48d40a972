"""What NITRO wraps every answer in: the Done envelope, and one constructor per error it gives."""

from __future__ import annotations

from typing import Any

DONE: dict[str, Any] = {"errorcode": 0, "message": "Done", "severity": "NONE"}
NOT_PRIMARY_MESSAGE = (
    "You are connected to a secondary node; configuration changes made in this session will "
    "not be propagated to, or saved on, other nodes"
)


class NitroError(Exception):
    """An error the appliance answers with a NITRO error envelope."""

    def __init__(self, status: int, errorcode: int, message: str) -> None:
        super().__init__(f"HTTP {status}, errorcode {errorcode}: {message}")
        self.status = status
        self.errorcode = errorcode
        self.message = message

    def envelope(self) -> dict[str, Any]:
        return {"errorcode": self.errorcode, "message": self.message, "severity": "ERROR"}


def no_such(attr: str, value: Any) -> NitroError:
    return NitroError(404, 258, f"No such resource [{attr}, {value}]")


def exists() -> NitroError:
    return NitroError(409, 273, "Resource already exists")


def bad_value(attr: str, value: Any) -> NitroError:
    return NitroError(400, 1097, f"Invalid argument value [{attr}, {value}]")


def bad_arg(attr: str) -> NitroError:
    return NitroError(599, 278, f"Invalid argument [{attr}]")


def missing(attr: str) -> NitroError:
    return NitroError(400, 1095, f"Required argument missing [{attr}]")


def both_given(first: str, second: str) -> NitroError:
    return NitroError(599, 1092, f"Arguments cannot both be specified [{first}, {second}]")


def bad_object(name: str) -> NitroError:
    return NitroError(400, 1232, f"Invalid object name [{name}]")


def bad_path() -> NitroError:
    return NitroError(404, 1232, "Invalid object name")


def bad_action(action: str) -> NitroError:
    return NitroError(400, 1240, f"Invalid nitro action or operation [{action}]")


def bad_json() -> NitroError:
    return NitroError(400, 1233, "Invalid JSON input")


def bad_json_type() -> NitroError:
    return NitroError(400, 1234, "Invalid JSON data type")


def bad_method(method: str) -> NitroError:
    return NitroError(
        405, 1237, f"Invalid method name. It should be either post, put, get, stat or delete "
        f"[{method}]"
    )


def not_primary() -> NitroError:
    return NitroError(599, 1028, NOT_PRIMARY_MESSAGE)


def not_logged_in() -> NitroError:
    return NitroError(401, 1026, "Not logged in")


def session_dead() -> NitroError:
    return NitroError(401, 444, "Session expired or killed. Please login again")


def bad_login() -> NitroError:
    return NitroError(401, 354, "Invalid username or password")


def basic_auth_disabled() -> NitroError:
    return NitroError(401, 1244, "Authentication Failed: Use of Basic Authentication is Disabled")
