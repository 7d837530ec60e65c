"""Generated requests for every operation of the served /openapi.json (schemathesis).

Every response must be a non-5xx whose status, content type and body the document
declares. `make test` runs FUZZ_EXAMPLES (default 20) cases per operation; `make fuzz`
runs many more. The service runs as its own process, as in production.
"""

from __future__ import annotations

import contextlib
import itertools
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given
from hypothesis import settings as hypothesis_settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode, checks
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.conftest import RedisServer
from tests.test_faults import Service, add_site, start_service, stop

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "20"))
CHECKS = [checks.not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


@dataclass
class Target:
    service: Service
    api_key: str
    moderator_token: str


# Module scope, and no background loops: this service shares the session's Redis, and its
# webhook deliverer and retention sweep would otherwise work on every later test's sites
# (a session-scoped one made an attempt on test_observability's and test_webhooks' events
# before their own deliverer did, failing them now and then).
@pytest.fixture(scope="module")
def fuzz_target(redis_server: RedisServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Target]:
    site = add_site(redis_server.url, f"fuzz{os.getpid()}")
    directory = Path(tmp_path_factory.mktemp("fuzz"))
    # A loaded CI machine must not turn a slow Redis reply into a 503 here.
    service = start_service(
        redis_server.url, directory, workers=1, MODERATION_REDIS_TIMEOUT_SECONDS="5",
        MODERATION_WEBHOOK_POLL_SECONDS="0", MODERATION_RETENTION_SWEEP_SECONDS="0",
    )
    try:
        yield Target(service, site["api_key"], site["moderator_token"])
    finally:
        stop(service.process)


@pytest.fixture(scope="module")
def served_schema(fuzz_target: Target) -> schemathesis.BaseSchema:
    return schemathesis.openapi.from_url(f"{fuzz_target.service.base}/openapi.json")


def credential(case: schemathesis.Case, target: Target) -> str:
    schemes = {name for req in case.operation.definition.raw.get("security", []) for name in req}
    return target.moderator_token if "moderatorToken" in schemes else target.api_key


@pytest.fixture
def request_closer() -> Iterator[contextlib.ExitStack]:
    with contextlib.ExitStack() as stack:
        yield stack


def test_generated_requests(
    served_schema: schemathesis.BaseSchema, fuzz_target: Target, request_closer: contextlib.ExitStack
) -> None:
    # schemathesis' pytest plugin does not load under this pytest; hypothesis drives each
    # operation's strategy directly and every failure is reported at the end.
    failures: dict[str, str] = {}
    statuses: list[int] = []
    operations = [result.ok() for result in served_schema.get_all_operations()]
    assert len(operations) >= 10

    session = requests.Session()  # one pool, closed below, even when a case fails
    request_closer.callback(session.close)
    for operation, mode in itertools.product(operations, [GenerationMode.POSITIVE, GenerationMode.NEGATIVE]):

        @given(case=operation.as_strategy(generation_mode=mode))
        @hypothesis_settings(
            max_examples=EXAMPLES,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
            phases=[Phase.explicit, Phase.generate],
        )
        def run(case: schemathesis.Case) -> None:
            headers = {"Authorization": f"Bearer {credential(case, fuzz_target)}"}
            response = case.call(base_url=fuzz_target.service.base, session=session, headers=headers, timeout=30)
            case.validate_response(response, checks=CHECKS)
            statuses.append(response.status_code)

        try:
            run()
        except Unsatisfiable:
            assert mode is GenerationMode.NEGATIVE, operation.label  # nothing to make invalid
        except Exception as exc:  # collect every operation's failure, then fail once
            failures[f"{operation.label} ({mode.value})"] = f"{type(exc).__name__}: {str(exc)[:1500]}"
    if failures:
        print(fuzz_target.service.log.read_text()[-5000:])
    assert not failures, "\n\n".join(f"{label}:\n{text}" for label, text in failures.items())
    # Requests really went out, and reached past authentication and validation.
    assert len(statuses) >= len(operations) and {200, 422} <= set(statuses)
