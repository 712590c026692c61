"""events -> runs: store each event, match triggers, create runs idempotently, publish jobs."""

from services.matcher.service import MatcherService

__all__ = ["MatcherService"]
