-- A run that ended keeps `finish_pending` (and a wake time) until its inngest/function.finished
-- and .failed events are on Kafka; if that publish is lost, the scheduler's wake-up has an
-- executor publish them again.
ALTER TABLE runs ADD COLUMN finish_pending boolean NOT NULL DEFAULT false;
