"""The one error a policy file (or ``register_policy(type=...)``) can raise."""

from __future__ import annotations


class PolicyConfigError(ValueError):
    """A policy document is invalid. Raised at load time, never per call.

    The message names the source (file path or ``<dict>``), the policy (index and
    name), the field and the allowed values::

        genops-policy.yaml: policies[1] 'support-monthly' (budget): field 'window':
        window must be one of daily, weekly, ... or 'rolling:<duration>'; got 'fortnightly'

    The parts are also attributes: ``source``, ``policy`` (name or ``#index``),
    ``field`` (dotted path) and ``problem``.
    """

    def __init__(
        self,
        problem: str,
        *,
        source: str = "<dict>",
        policy: str | None = None,
        field: str | None = None,
    ) -> None:
        self.source = source
        self.policy = policy
        self.field = field
        self.problem = problem
        where = [source]
        if policy is not None:
            where.append(policy)
        if field:
            where.append(f"field {field!r}")
        super().__init__(": ".join([*where, problem]))
