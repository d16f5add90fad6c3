"""Schemathesis hooks for attain's API fuzz: a check that an answer to a
token limited to a manager or a rep names no person outside its reach.

Read from the environment:
  FUZZ_REPS_CSV  the reps.csv the server ingested (person and manager ids)
  FUZZ_SCOPE     the person the token is limited to (unset: not limited)

A token's reach is its person and everyone under them (transitively). Ids
of the person's own line managers are allowed too (a record of the
person names their manager), and so is any id the request itself carried
(an error may repeat what was asked for).
"""

import csv
import json
import os
import re

import schemathesis

_PEOPLE = None


def _people():
    global _PEOPLE
    if _PEOPLE is None:
        managers = {}
        with open(os.environ["FUZZ_REPS_CSV"], newline="") as f:
            for row in csv.DictReader(f):
                managers[row["rep_id"]] = row.get("manager_id") or None
        scope = os.environ.get("FUZZ_SCOPE")
        allowed = set()
        if scope:
            allowed.add(scope)
            changed = True
            while changed:
                changed = False
                for person, manager in managers.items():
                    if manager in allowed and person not in allowed:
                        allowed.add(person)
                        changed = True
            up = managers.get(scope)
            while up and up not in allowed:
                allowed.add(up)
                up = managers.get(up)
        _PEOPLE = (set(managers), allowed, scope)
    return _PEOPLE


def _request_text(case):
    parts = [case.formatted_path or "", json.dumps(case.query or {}, default=str)]
    if case.body is not None and not isinstance(case.body, (bytes, bytearray)):
        parts.append(json.dumps(case.body, default=str))
    elif isinstance(case.body, (bytes, bytearray)):
        parts.append(case.body.decode("utf-8", "replace"))
    return " ".join(parts)


@schemathesis.check
def no_one_outside_the_reach(ctx, response, case):
    people, allowed, scope = _people()
    if not scope:
        return None
    text = response.text or ""
    asked = _request_text(case)
    named = set(re.findall(r"[A-Za-z0-9_.-]+", text)) & people
    foreign = sorted(p for p in named - allowed if p not in asked)
    if foreign:
        raise AssertionError(
            f"an answer to a token limited to {scope} names people outside its reach: "
            f"{', '.join(foreign[:10])}"
        )
    return True
