"""The one case registry (统一办件库): every application of the one window, whatever the service.

``flows`` (pure state machines), ``clocks`` (which limits an event moves, pure), ``models`` and
``repository`` (the database), ``service`` (filing, steps, queues), ``views`` (what each viewer
is shown), ``api`` (the REST shell).
"""

from server.registry.flows import FLOWS, Actor, Flow
from server.registry.service import Registry

__all__ = ["FLOWS", "Actor", "Flow", "Registry"]
