"""The hotline routing engine: pure policy (model, eligibility, index, policy, lifecycle, eta,
hours, regions), the ``RoutingStore`` backends (memory, Redis) and the async ``RoutingEngine``
shell. See docs/routing.md."""
