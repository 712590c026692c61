"""The sans-IO engine: a run's stored state plus the app's reply in, a decision out.

    state = RunState.from_run(run, now)
    decision = decide(state, OpsReply(ops, request_version=2), RetryPolicy.production(), rng)
    # commit decision.checkpoints and the run's new fields, then do decision.next

Modules: ``inputs`` (RunState, replies, Op), ``decision`` (Decision, Checkpoint, next moves,
event payloads), ``machine`` (decide, resume), ``opcodes`` (the 206 rules), ``retry``
(backoff), ``durations`` (sleep times), ``states`` (the run-status table), ``errors``.
Nothing here performs I/O or imports a database, Kafka or HTTP client.
"""

from services.core.engine.decision import (
    Checkpoint,
    Decision,
    FailedRun,
    Finished,
    Next,
    RunAt,
    RunNow,
    failure_event_data,
    finished_event_data,
)
from services.core.engine.durations import MAX_SLEEP, parse_duration, sleep_until
from services.core.engine.errors import EngineError, IllegalTransition
from services.core.engine.inputs import (
    DoneReply,
    ErrorReply,
    Op,
    OpsReply,
    PlannedMode,
    Reply,
    RunState,
    StepOp,
    TransportFailure,
)
from services.core.engine.machine import decide, resume
from services.core.engine.retry import RetryPolicy
from services.core.engine.states import TRANSITIONS, can_transition, transition

__all__ = [
    "MAX_SLEEP",
    "TRANSITIONS",
    "Checkpoint",
    "Decision",
    "DoneReply",
    "EngineError",
    "ErrorReply",
    "FailedRun",
    "Finished",
    "IllegalTransition",
    "Next",
    "Op",
    "OpsReply",
    "PlannedMode",
    "Reply",
    "RetryPolicy",
    "RunAt",
    "RunNow",
    "RunState",
    "StepOp",
    "TransportFailure",
    "can_transition",
    "decide",
    "failure_event_data",
    "finished_event_data",
    "parse_duration",
    "resume",
    "sleep_until",
    "transition",
]
