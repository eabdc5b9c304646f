"""Every Redis key of the signaling cluster (presence map and per-process push channels), with
its TTL and meaning. The routing store's keys are in ``signaling.routing.redis_keys``, the media
worker registry's in ``rooms.registry``; docs/deploy.md lists them all.

``{p}`` is the deployment's prefix (``PARLEY_REDIS_PREFIX``, default ``parley``; tests use their
own). Everything here is rebuilt by the processes themselves: a process whose liveness key
vanished (Redis flushed or restarted) writes its presence entries again at its next heartbeat.

  {p}:proc:{pid}           string "1", TTL PROCESS_TTL_S, refreshed every HEARTBEAT_S: the
                           signaling process ``pid`` is alive
  {p}:proc:{pid}:push      pub/sub channel: one-to-one pushes for clients connected to ``pid``
                           (JSON ``{"e": event, "d": data, "t": target}``)
  {p}:where:{target}       hash process id -> "1": the processes holding a connection in the
                           socket.io room ``target`` (``user:ID``, ``case:ID``); TTL WHERE_TTL_S,
                           renewed on every change. Fields of dead processes are removed by the
                           readers that find their ``{p}:proc:{pid}`` gone.
  {p}:where-changed        pub/sub channel: JSON list of targets whose ``{p}:where`` entry a
                           process just changed; every process drops them from its cache of
                           owners (signaling/relay.py), so a cached owner list is never older
                           than the change that made it wrong (plus OWNERS_CACHE_S at most)
  {p}:conns:{token}        hash "{pid}/{sid}" -> "1": the live socket connections opened with
                           one token (``{token}``: a digest of it), capped per token
                           (signaling/connections.py); TTL the token's remaining life, renewed
                           on every claim; fields of dead processes are removed by the next
                           claim that finds their ``{p}:proc:{pid}`` gone
  {p}:alerts:turn          string (SET NX PX), TTL just under the early-warning interval: the
                           one process evaluating the alert rules this round (signaling/alerts)
  {p}:socketio             pub/sub channel of python-socketio's Redis manager (fan-out to
                           every process: broadcasts, and one-to-one pushes to unknown targets)
"""

from __future__ import annotations

from dataclasses import dataclass

HEARTBEAT_S = 5.0
PROCESS_TTL_S = 15
WHERE_TTL_S = 24 * 3600
# socket.io rooms that hold one person's connections: the ones worth routing to their process.
PERSONAL_PREFIXES = ("user:", "case:")


@dataclass(frozen=True)
class ClusterKeys:
    prefix: str = "parley"

    def process(self, process_id: str) -> str:
        return f"{self.prefix}:proc:{process_id}"

    def push_channel(self, process_id: str) -> str:
        return f"{self.prefix}:proc:{process_id}:push"

    def connections(self, token_key: str) -> str:
        return f"{self.prefix}:conns:{token_key}"

    def where(self, target: str) -> str:
        return f"{self.prefix}:where:{target}"

    @property
    def where_changed_channel(self) -> str:
        return f"{self.prefix}:where-changed"

    @property
    def alerts_turn(self) -> str:
        return f"{self.prefix}:alerts:turn"

    @property
    def socketio_channel(self) -> str:
        return f"{self.prefix}:socketio"


def is_personal(target: str) -> bool:
    """Whether ``target`` is one person's socket.io room (routed to its owning processes)."""
    return target.startswith(PERSONAL_PREFIXES)
