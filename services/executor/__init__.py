"""runs -> steps: leases, the signed HTTP call to the app, opcodes, checkpoints, retries."""

from services.executor.service import ExecutorService

__all__ = ["ExecutorService"]
