"""The connector registry: one key per platform, each building its own connector class."""

from __future__ import annotations

from connectors.base import Connector
from connectors.registry import REGISTRY
from monitor.config import Settings
from monitor.domain import Platform


def test_when_every_factory_is_built_then_two_classes_never_share_a_key() -> None:
    built = {name: factory(Settings()) for name, factory in REGISTRY.items()}

    classes = [type(connector) for connector in built.values()]
    assert len(set(classes)) == len(classes)
    for name, connector in built.items():
        assert isinstance(connector, Connector)
        assert connector.platform == name


def test_when_a_platform_is_known_to_the_domain_then_the_registry_serves_it() -> None:
    assert {str(p) for p in Platform} <= set(REGISTRY)
