-- Headrace's system of record. One migration file per change; never edit an applied one.

-- A synced app and its functions. A function's full config (every option the SDK declared) is
-- kept in `config`, so options enforced by later versions need no re-sync.
CREATE TABLE apps (
    id          text PRIMARY KEY,
    url         text NOT NULL,
    sdk         text NOT NULL DEFAULT '',
    framework   text NOT NULL DEFAULT '',
    app_version text,
    error       text,
    synced_at   timestamptz NOT NULL DEFAULT now(),
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE functions (
    id         text PRIMARY KEY,
    app_id     text NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
    name       text NOT NULL,
    url        text NOT NULL,
    triggers   jsonb NOT NULL,
    retries    int NOT NULL,
    config     jsonb NOT NULL,
    archived   boolean NOT NULL DEFAULT false,
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX functions_app ON functions (app_id);

-- Event history. `id` is Headrace's ULID; `idempotency_key` the sender's id.
CREATE TABLE events (
    id              text PRIMARY KEY,
    name            text NOT NULL,
    data            jsonb NOT NULL,
    "user"          jsonb NOT NULL DEFAULT '{}',
    ts              bigint NOT NULL,
    v               text,
    idempotency_key text,
    duplicate_of    text,
    received_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX events_idempotency ON events (idempotency_key, received_at)
    WHERE idempotency_key IS NOT NULL;
CREATE INDEX events_received ON events (received_at);

-- A run and its progress. `generation` grows with every checkpoint: a job names the generation
-- it was published for. `lease_token` is the fencing token of the current claim. `wake_at` is
-- when the scheduler must publish the run's job again: the end of a sleep or retry backoff, the
-- end of a lease, or a redelivery deadline for a job that may have been lost.
CREATE TABLE runs (
    id              text PRIMARY KEY,
    function_id     text NOT NULL,
    app_id          text NOT NULL,
    event_id        text NOT NULL,
    event_ids       text[] NOT NULL,
    status          text NOT NULL,
    generation      bigint NOT NULL DEFAULT 1,
    attempt         int NOT NULL DEFAULT 0,
    max_attempts    int NOT NULL,
    stack           text[] NOT NULL DEFAULT '{}',
    request_version int NOT NULL DEFAULT -1,
    force_step_plan boolean NOT NULL DEFAULT false,
    target          text NOT NULL DEFAULT 'step',
    planned         text[] NOT NULL DEFAULT '{}',
    planned_mode    text NOT NULL DEFAULT 'wait',
    wait            jsonb,
    output          jsonb,
    error           jsonb,
    lease_token     bigint NOT NULL DEFAULT 0,
    lease_owner     text,
    not_before      timestamptz NOT NULL DEFAULT now(),
    wake_at         timestamptz,
    created_at      timestamptz NOT NULL DEFAULT now(),
    started_at      timestamptz,
    ended_at        timestamptz,
    UNIQUE (function_id, event_id)
);
CREATE INDEX runs_wake ON runs (wake_at) WHERE wake_at IS NOT NULL;
CREATE INDEX runs_event ON runs (event_id);
CREATE INDEX runs_function ON runs (function_id, created_at);

-- Checkpointed steps; the primary key makes a checkpoint idempotent on (run, step id).
-- `memo` is what goes back to the SDK in `steps[step_id]`; `position` is the index in the stack.
CREATE TABLE steps (
    run_id     text NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    step_id    text NOT NULL,
    name       text NOT NULL,
    op         text NOT NULL,
    status     text NOT NULL,
    attempts   int NOT NULL DEFAULT 1,
    position   int,
    memo       jsonb,
    output     jsonb,
    error      jsonb,
    started_at timestamptz NOT NULL DEFAULT now(),
    ended_at   timestamptz,
    PRIMARY KEY (run_id, step_id)
);

-- One row per cron tick fired, so a tick fires once even across leader changes.
CREATE TABLE cron_ticks (
    function_id text NOT NULL,
    tick        timestamptz NOT NULL,
    event_id    text NOT NULL,
    PRIMARY KEY (function_id, tick)
);

-- Records a consumer could not process: recorded, skipped and counted (law 7).
CREATE TABLE dead_letters (
    id         bigserial PRIMARY KEY,
    consumer   text NOT NULL,
    topic      text NOT NULL,
    part       int NOT NULL,
    "offset"   bigint NOT NULL,
    reason     text NOT NULL,
    payload    bytea,
    created_at timestamptz NOT NULL DEFAULT now()
);
