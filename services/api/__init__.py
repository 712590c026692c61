"""People and SDKs: app sync, the REST API, auth."""

from services.api.service import ApiService

__all__ = ["ApiService"]
