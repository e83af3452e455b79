"""The outcome of a policy gate, and the plain role check every gate module shares."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from app.errors import FrxError, PermissionDenied
from app.policy.roles import Role


@dataclass(frozen=True)
class Decision:
    """Whether an action is allowed and, if not, every reason (plain sentences)."""

    allowed: bool
    reasons: tuple[str, ...] = ()

    @classmethod
    def of(cls, problems: Iterable[str]) -> Decision:
        reasons = tuple(problems)
        return cls(allowed=not reasons, reasons=reasons)

    @property
    def reason(self) -> str:
        """All reasons as one message ("" when allowed)."""
        return " ".join(self.reasons)

    def enforce(self, error: type[FrxError]) -> None:
        """Raise ``error`` with every reason unless allowed."""
        if not self.allowed:
            raise error(self.reason)


def require_role(roles: Iterable[Role], role: Role | Iterable[Role], action: str) -> None:
    """PermissionDenied unless the person holds ``role`` (or one of several roles)."""
    wanted = {role} if isinstance(role, Role) else set(role)
    if not wanted & set(roles):
        names = " or ".join(sorted(r.label.lower() for r in wanted))
        article = "an" if names[0] in "aeiou" else "a"
        raise PermissionDenied(f"Only {article} {names} may {action}.")
