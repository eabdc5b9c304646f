"""Every Redis key and Lua script of the routing store, with its meaning.

Keys (``{p}`` is the store's prefix, ``parley:routing`` by default; tests use their own). None has
a TTL: all of them are live state rebuilt from the database by ``rebuild`` (waiting cases in
their order, agents from accounts and presence); offers in flight are simply dropped then.

  {p}:tasks           hash  task id -> Task JSON: every waiting task, offered ones included
  {p}:offers          hash  task id -> Offer JSON: offers in flight (a task has at most one)
  {p}:agent_offer     hash  agent id -> task id: the offer an agent holds (at most one)
  {p}:agents          hash  agent id -> Agent JSON (its ``version`` field is ignored on read)
  {p}:agent_versions  hash  agent id -> integer version, the compare-and-set counter
  {p}:seq             int   number of changes to tasks, agents and offers so far (since the
                      last rebuild)
  {p}:feed            stream of those changes, trimmed to about FEED_MAXLEN entries: fields
                      seq, op, id, body, and per op:
                        put      a task queued or replaced: id, body Task JSON
                        del      a task removed (its offer, if any, with it): id
                        agent    an agent written: id, body Agent JSON, version
                        offer    an offer made: id (task id), body Offer JSON
                        unoffer  an offer ended, its task kept or removed: id (task id)
                        claim    an offer made and its agent written in one: id (task id),
                                 body Offer JSON, agent Agent JSON, version
                        accept   a task removed (its offer with it) and the agent who took it
                                 written, in one: id (task id), agent Agent JSON, version
  {p}:epoch           string, a fresh random id at each rebuild; its absence means Redis lost
                      the state (flushed, restarted): the hotline's tick then rebuilds
  {p}:rebuild_lock    string, TTL a few seconds (SET NX PX): the one process rebuilding a lost
                      store (the only key here with a TTL; not deleted by ``rebuild``)

Processes keep a mirror of the tasks, agents and offers (``mirror.RoutingMirror``) by reading
{p}:feed after the last entry they applied; a gap in ``seq``, a changed epoch (rebuild, or a
flushed Redis) or a trimmed feed makes them reload everything.

Scripts run atomically, so each one is one indivisible change: a claim cannot interleave with
another claim, a removal or an answer.
"""

from __future__ import annotations

from dataclasses import dataclass

FEED_MAXLEN = 10_000


@dataclass(frozen=True)
class RoutingKeys:
    tasks: str
    offers: str
    agent_offer: str
    agents: str
    agent_versions: str
    seq: str
    feed: str
    epoch: str
    rebuild_lock: str

    @classmethod
    def for_prefix(cls, prefix: str) -> RoutingKeys:
        return cls(*(f"{prefix}:{name}" for name in (
            "tasks", "offers", "agent_offer", "agents", "agent_versions", "seq", "feed", "epoch",
            "rebuild_lock")))

    def all(self) -> tuple[str, ...]:
        return (self.tasks, self.offers, self.agent_offer, self.agents, self.agent_versions,
                self.seq, self.feed, self.epoch)


# KEYS: epoch, seq, feed. ARGV: the id of the last feed entry the mirror applied ("0-0": none).
# Returns {epoch or nil, seq or nil, the feed entries after ARGV[1]}: one consistent read in one
# command (a MULTI of three costs the client half as much again, and views are the commonest read).
VIEW = """
local counted = redis.call('MGET', KEYS[1], KEYS[2])
return {counted[1], counted[2], redis.call('XRANGE', KEYS[3], '(' .. ARGV[1], '+')}
"""

# A Lua helper prepended to every script that changes state: counts the change and appends it to
# the feed, trimmed (approximately, which is cheap) to FEED_MAXLEN entries. ``version`` only for
# "agent" entries; ``feed_with_agent`` for "claim" and "accept", which carry the agent written in
# the same change (one entry, so one INCR and one XADD, where two entries cost twice that).
_FEED = f"""
local function feed(seq_key, feed_key, op, id, body, version)
  local seq = redis.call('INCR', seq_key)
  if version then
    redis.call('XADD', feed_key, 'MAXLEN', '~', {FEED_MAXLEN}, '*',
               'seq', seq, 'op', op, 'id', id, 'body', body, 'version', version)
  else
    redis.call('XADD', feed_key, 'MAXLEN', '~', {FEED_MAXLEN}, '*',
               'seq', seq, 'op', op, 'id', id, 'body', body)
  end
end
local function feed_with_agent(seq_key, feed_key, op, id, body, agent, version)
  local seq = redis.call('INCR', seq_key)
  redis.call('XADD', feed_key, 'MAXLEN', '~', {FEED_MAXLEN}, '*',
             'seq', seq, 'op', op, 'id', id, 'body', body, 'agent', agent, 'version', version)
end
"""

# KEYS: tasks, seq, feed. ARGV: task id, Task JSON. Returns 1 if queued, 0 if already waiting.
ADD_TASK = _FEED + """
if redis.call('HSETNX', KEYS[1], ARGV[1], ARGV[2]) == 0 then return 0 end
feed(KEYS[2], KEYS[3], 'put', ARGV[1], ARGV[2])
return 1
"""

# KEYS: tasks, seq, feed. ARGV: task id, Task JSON. Returns 1 if replaced, 0 if not waiting.
UPDATE_TASK = _FEED + """
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
feed(KEYS[2], KEYS[3], 'put', ARGV[1], ARGV[2])
return 1
"""

# KEYS: tasks, offers, agent_offer, seq, feed. ARGV: task id.
# Returns false if not waiting, else {Task JSON, Offer JSON or ''} (the voided offer).
REMOVE_TASK = _FEED + """
local body = redis.call('HGET', KEYS[1], ARGV[1])
if not body then return false end
redis.call('HDEL', KEYS[1], ARGV[1])
local offer = redis.call('HGET', KEYS[2], ARGV[1])
if offer then
  redis.call('HDEL', KEYS[2], ARGV[1])
  local agent = cjson.decode(offer)['agent_id']
  redis.call('HDEL', KEYS[3], agent)
else
  offer = ''
end
feed(KEYS[4], KEYS[5], 'del', ARGV[1], '')
return {body, offer}
"""

# KEYS: agents, agent_versions, seq, feed. ARGV: agent id, Agent JSON. Returns the new version.
PUT_AGENT = _FEED + """
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
local version = redis.call('HINCRBY', KEYS[2], ARGV[1], 1)
feed(KEYS[3], KEYS[4], 'agent', ARGV[1], ARGV[2], version)
return version
"""

# KEYS: agents, agent_versions, seq, feed. ARGV: agent id, expected version, Agent JSON.
# Returns the new version, or -1 when the agent is unknown or its version moved on.
UPDATE_AGENT = _FEED + """
local current = redis.call('HGET', KEYS[2], ARGV[1])
if not current or current ~= ARGV[2] then return -1 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
local version = redis.call('HINCRBY', KEYS[2], ARGV[1], 1)
feed(KEYS[3], KEYS[4], 'agent', ARGV[1], ARGV[3], version)
return version
"""

# KEYS: tasks, offers, agent_offer, agents, agent_versions, seq, feed.
# ARGV: agent id, expected version, Agent JSON, offered_at, deadline, candidate task ids...
# Offers the first candidate still waiting and not offered; returns {task id, new version},
# or -1 (agent changed or already holds an offer), or 0 (no candidate left).
CLAIM = _FEED + """
local current = redis.call('HGET', KEYS[5], ARGV[1])
if not current or current ~= ARGV[2] or redis.call('HEXISTS', KEYS[3], ARGV[1]) == 1 then
  return -1
end
for i = 6, #ARGV do
  local id = ARGV[i]
  if redis.call('HEXISTS', KEYS[1], id) == 1 and redis.call('HEXISTS', KEYS[2], id) == 0 then
    local offer = '{"task_id":' .. cjson.encode(id) .. ',"agent_id":' .. cjson.encode(ARGV[1])
      .. ',"offered_at":' .. ARGV[4] .. ',"deadline":' .. ARGV[5] .. '}'
    redis.call('HSET', KEYS[2], id, offer)
    redis.call('HSET', KEYS[3], ARGV[1], id)
    redis.call('HSET', KEYS[4], ARGV[1], ARGV[3])
    local version = redis.call('HINCRBY', KEYS[5], ARGV[1], 1)
    feed_with_agent(KEYS[6], KEYS[7], 'claim', id, offer, ARGV[3], version)
    return {id, version}
  end
end
return 0
"""

# KEYS: tasks, offers, agent_offer, agents, agent_versions, seq, feed.
# ARGV: task id, agent id, expected version, Agent JSON, Task JSON ('' = remove: accepted).
# Returns the agent's new version, or -1 (offer not in flight for this agent, or agent changed).
RESOLVE = _FEED + """
if redis.call('HGET', KEYS[3], ARGV[2]) ~= ARGV[1] then return -1 end
if redis.call('HGET', KEYS[5], ARGV[2]) ~= ARGV[3] then return -1 end
redis.call('HDEL', KEYS[2], ARGV[1])
redis.call('HDEL', KEYS[3], ARGV[2])
redis.call('HSET', KEYS[4], ARGV[2], ARGV[4])
local version = redis.call('HINCRBY', KEYS[5], ARGV[2], 1)
if ARGV[5] == '' then
  redis.call('HDEL', KEYS[1], ARGV[1])
  feed_with_agent(KEYS[6], KEYS[7], 'accept', ARGV[1], '', ARGV[4], version)
else
  feed(KEYS[6], KEYS[7], 'unoffer', ARGV[1], '')
  redis.call('HSET', KEYS[1], ARGV[1], ARGV[5])
  feed(KEYS[6], KEYS[7], 'put', ARGV[1], ARGV[5])
  feed(KEYS[6], KEYS[7], 'agent', ARGV[2], ARGV[4], version)
end
return version
"""
