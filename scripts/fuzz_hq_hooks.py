"""Schemathesis hooks for scripts/fuzz-hq.sh.

A push drawn at random from the schema names a device that is not the
caller, seqs with a gap and jobs HQ does not hold, so HQ refuses it before
it reaches the code that applies changes. These hooks make a drawn push the
enrolled device's own, numbered where HQ expects the next seq, with its
`kind` agreeing with its payload, and half of its entries on the device's
real jobs: the generated changes themselves (the part worth fuzzing) then
reach the rules and storage. A time is drawn from years 1 to 9999, and
HQ takes only 2000 to 2100 (it refuses the rest, or keeps such a change
apart), so half of the drawn times in a body are moved into this century:
jobs get created and re-booked, and changes enter a visit. Likewise half
of the job ids drawn for a
dispatcher's `/api/v1/jobs/{id}...` name one of those jobs, so a job's
detail rebuilds a visit from the fuzzed changes, and assigning, cancelling
and re-booking meet a real job. Only well-formed values are touched; the
malformed ones the fuzzer draws on purpose go out as drawn.
"""

import os
import re

import schemathesis

PUSH = "/api/v1/sync/push"
DEVICE_ID = os.environ.get("DOORSTEP_FUZZ_DEVICE_ID", "")
JOB_IDS = [job for job in os.environ.get("DOORSTEP_FUZZ_JOB_IDS", "").split(",") if job]

# The seq HQ expects next from this device, learned from its answers.
next_seq = 1


def is_push(operation):
    return operation.method.upper() == "POST" and operation.path == PUSH


TIME = re.compile(r"^(\d{4})(-\d\d-\d\d(T.*)?)$")


def into_this_century(value):
    """Every time (or date) in `value` whose drawn year is even, moved to
    20YY; the odd years stay, so times out of range are still sent."""
    if isinstance(value, dict):
        return {key: into_this_century(item) for key, item in value.items()}
    if isinstance(value, list):
        return [into_this_century(item) for item in value]
    if isinstance(value, str):
        match = TIME.match(value)
        if match and int(match.group(1)) % 2 == 0:
            return f"20{match.group(1)[2:]}{match.group(2)}"
    return value


@schemathesis.hook
def map_body(ctx, body):
    body = into_this_century(body)
    if not DEVICE_ID or not is_push(ctx.operation) or not isinstance(body, dict):
        return body
    body["device_id"] = DEVICE_ID
    entries = body.get("entries")
    if not isinstance(entries, list):
        return body
    for index, entry in enumerate(entries):
        if not isinstance(entry, dict):
            continue
        entry["seq"] = next_seq + index
        payload = entry.get("payload")
        if isinstance(payload, dict) and isinstance(payload.get("type"), str):
            entry["kind"] = payload["type"]
        if JOB_IDS and index % 2 == 0:
            # Deterministic: the same drawn entry always lands on the same job.
            entry["job_id"] = JOB_IDS[(next_seq + index) % len(JOB_IDS)]
    return body


@schemathesis.hook
def map_path_parameters(ctx, parameters):
    if not JOB_IDS or not ctx.operation.path.startswith("/api/v1/jobs/{id}"):
        return parameters
    drawn = parameters.get("id") if isinstance(parameters, dict) else None
    if isinstance(drawn, str) and drawn and drawn[-1] in "02468ace":
        # Deterministic: the same drawn id always becomes the same job.
        parameters["id"] = JOB_IDS[int(drawn[-1], 16) % len(JOB_IDS)]
    return parameters


@schemathesis.hook
def after_call(ctx, case, response):
    global next_seq
    if not is_push(case.operation) or response.status_code not in (200, 409):
        return
    try:
        answer = response.json()
    except ValueError:
        return
    if not isinstance(answer, dict):
        return
    if response.status_code == 200 and isinstance(answer.get("applied_through_seq"), int):
        next_seq = answer["applied_through_seq"] + 1
    elif isinstance(answer.get("expected_seq"), int):
        next_seq = answer["expected_seq"]
