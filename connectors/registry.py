"""Platform name -> connector factory: a new platform is one new module and one line here.

A factory takes the validated ``Settings`` and returns a ready ``Connector``. Factories import
their module lazily, so a platform's client library loads only when one of its sources syncs.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from connectors.base import Connector
from monitor.config import Settings

ConnectorFactory = Callable[[Settings], Connector]


def _jsonl(settings: Settings) -> Connector:
    from connectors.jsonl import JsonlConnector

    return JsonlConnector()


def _x(settings: Settings) -> Connector:
    from connectors.x import XConnector

    return XConnector(settings)


def _facebook(settings: Settings) -> Connector:
    from connectors.facebook import FacebookConnector

    return FacebookConnector(settings)


REGISTRY: Mapping[str, ConnectorFactory] = {
    "jsonl": _jsonl,
    "x": _x,
    "facebook": _facebook,
}
