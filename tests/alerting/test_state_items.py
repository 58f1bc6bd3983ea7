"""State items edited by hand, end to end: a bad item costs nothing to any other target, and is replaced.

Users edit the state table in the console (the README tells them how). An
item this code cannot use is logged at WARNING, naming the target and the
attribute, and treated as no state for that target alone; the next write
replaces it. Writes compare the raw values read, so a ``Pending`` re-typed
as compact JSON is no reason to refuse them.
"""

from __future__ import annotations

import json
import logging
from typing import TYPE_CHECKING, Any

import pytest

from tests.alerting.test_track import at
from tests.alerting_harness import Monitor

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient

    from healthcheck.check.probe import Probe
    from tests.servers import FaultServer


@pytest.fixture
def monitor(dynamodb_endpoint: str, dynamodb: DynamoDBClient, probe: Probe) -> Monitor:
    return Monitor.create(dynamodb_endpoint, dynamodb, probe)


def alert_json(**fields: object) -> dict[str, object]:
    alert: dict[str, object] = {"kind": "DOWN", "target": "bad", "url": "https://bad/", "at": at(0), "since": at(0)}
    return {**alert, **fields}


def pending(*alerts: dict[str, object]) -> dict[str, str]:
    return {"S": json.dumps(list(alerts))}


# Each a whole item as a console edit could leave it; the last value names the attribute the warning must name.
MALFORMED: list[tuple[dict[str, Any], str]] = [
    ({"State": {"S": "UP"}, "Failures": {"N": "2.5"}, "StreakStart": {"S": at(0)}}, "Failures"),
    ({"State": {"S": "UP"}, "Failures": {"S": "2"}, "StreakStart": {"S": at(0)}}, "Failures"),
    ({"State": {"S": "UP"}, "Successes": {"N": "-1"}}, "Successes"),
    ({"State": {"S": "UP"}, "Pending": {"S": "[{'kind': 'DOWN'}]"}}, "Pending"),
    ({"State": {"S": "UP"}, "Pending": pending(alert_json(at=None))}, "Pending"),
    ({"State": {"S": "UP"}, "Pending": pending(alert_json(kind="DOWNN"))}, "Pending"),
    ({"State": {"S": "UP"}, "Pending": pending(alert_json(reasons="status 503"))}, "Pending"),
    ({"State": {"S": "UP"}, "Pending": pending(alert_json(downForS=1.5))}, "Pending"),
    ({"State": {"S": "UP"}, "Pending": {"S": '{"kind": "DOWN"}'}}, "Pending"),
    ({"State": {"S": "DOWN"}}, "Since"),
    ({"State": {"S": "down"}, "Since": {"S": at(0)}}, "State"),
    ({"State": {"S": "DOWN"}, "Since": {"S": at(0)}, "RemindedAt": {"S": "yesterday"}}, "RemindedAt"),
    ({"State": {"S": "DOWN"}, "Since": {"S": "2026-11-27 18:00:00"}}, "Since"),
    ({"State": {"S": "UP"}, "LastEvent": {"S": "2026-11-27T18:00:00+00:00"}}, "LastEvent"),
    ({"State": {"S": "UP"}, "LastEvent": {"N": "1795802400"}}, "LastEvent"),
    ({"State": {"S": "UP"}, "CertWarned": {"S": "14"}}, "CertWarned"),
    ({"State": {"S": "UP"}, "Failures": {"N": "2"}}, "StreakStart"),
    ({"State": {"S": "DOWN"}, "Since": {"S": at(0)}, "Successes": {"N": "1"}}, "StreakStart"),
]
IDS = [
    "failures-2.5",
    "failures-a-string",
    "successes-negative",
    "pending-not-json",
    "alert-without-at",
    "alert-of-no-kind",
    "reasons-not-a-list",
    "down-for-a-fraction",
    "pending-not-a-list",
    "forced-down-without-since",
    "state-lower-case",
    "reminded-at-yesterday",
    "since-without-the-t",
    "last-event-with-an-offset",
    "last-event-a-number",
    "cert-warned-a-string",
    "failures-without-streak-start",
    "successes-without-streak-start",
]


@pytest.mark.parametrize(("item", "attribute"), MALFORMED, ids=IDS)
def test_a_malformed_item_is_named_and_costs_no_other_target_anything(
    monitor: Monitor, http_server: FaultServer, caplog: pytest.LogCaptureFixture, item: dict[str, Any], attribute: str
) -> None:
    # Found in review: one such item stopped state and alerts for every target, on every run.
    monitor.put_state({"Id": {"S": "bad"}, "LastEvent": {"S": at(0)}, **item})
    failing = f"{http_server.base_url}/status/503"
    targets: list[object] = [
        {"name": "api", "url": failing, "failureThreshold": 1},
        {"name": "bad", "url": failing, "failureThreshold": 1},
    ]
    with caplog.at_level(logging.WARNING, logger="healthcheck"):
        assert monitor.run(at(1), targets) is None
    [warning] = [record for record in caplog.records if "state item" in record.getMessage()]
    assert warning.levelno == logging.WARNING
    assert f"the state item of bad has a malformed {attribute}" in warning.getMessage()
    [alert] = monitor.alerts()
    # Both go DOWN: "bad" as a target with no state, failing from this run on.
    assert alert.subject == "DOWN: api and 1 more"
    assert {entry["target"]: entry["since"] for entry in alert.body["targets"]} == {"api": at(1), "bad": at(1)}
    replaced = monitor.state("bad")
    assert replaced is not None
    assert (replaced["State"], replaced["Since"], replaced["LastEvent"]) == ({"S": "DOWN"}, {"S": at(1)}, {"S": at(1)})
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="healthcheck"):
        assert monitor.run(at(2), targets) is None
    assert "malformed" not in caplog.text  # replaced for good


def test_a_malformed_item_of_a_passing_target_is_replaced_once_then_nothing_is_written(
    monitor: Monitor, http_server: FaultServer, caplog: pytest.LogCaptureFixture
) -> None:
    monitor.put_state({"Id": {"S": "api"}, "State": {"S": "DOWN"}, "LastEvent": {"S": at(0)}})  # forced DOWN
    targets: list[object] = [{"name": "api", "url": f"{http_server.base_url}/ok"}]
    store = monitor.state_store
    assert store is not None
    with caplog.at_level(logging.WARNING, logger="healthcheck"):
        assert monitor.run(at(1), targets) is None
    assert "the state item of api has a malformed Since" in caplog.text
    # Replaced, so the warning is not logged every minute; and the shard's hourly full read recorded.
    assert store.calls["UpdateItem"] == 2
    assert monitor.state("api") == {
        "Id": {"S": "api"},
        "State": {"S": "UP"},
        "Failures": {"N": "0"},
        "Successes": {"N": "0"},
        "LastEvent": {"S": at(1)},
    }
    caplog.clear()
    for minute in range(2, 5):
        assert monitor.run(at(minute), targets) is None
    assert store.calls["UpdateItem"] == 2  # the steady state writes nothing
    assert monitor.alerts() == []
    assert "malformed" not in caplog.text


def test_a_malformed_item_is_left_alone_in_a_maintenance_window(
    monitor: Monitor, http_server: FaultServer, caplog: pytest.LogCaptureFixture
) -> None:
    from healthcheck.alerting.maintenance import parse_windows

    bad = {"Id": {"S": "api"}, "State": {"S": "DOWN"}, "LastEvent": {"S": at(0)}}
    monitor.put_state(bad)
    monitor.maintenance = parse_windows([{"start": "19:00", "duration": "5m", "timezone": "Europe/Berlin"}])
    assert monitor.run(at(1), [{"name": "api", "url": f"{http_server.base_url}/ok"}]) is None
    assert monitor.state("api") == bad  # state is frozen in a window, however it reads


@pytest.mark.parametrize(
    "stored",
    [
        json.dumps([alert_json(kind="CERTIFICATE", certDaysLeft=9)], separators=(",", ":")),
        json.dumps([alert_json(kind="CERTIFICATE", certDaysLeft=9)], indent=2),
        "[]",
    ],
    ids=["compact-json", "indented-json", "an-empty-list"],
)
def test_pending_retyped_by_hand_never_freezes_the_target(
    monitor: Monitor, http_server: FaultServer, caplog: pytest.LogCaptureFixture, stored: str
) -> None:
    # Found in review: a Pending not byte-identical to what the code writes made every write look like
    # another run's conflict, dropped at INFO, so the target never went DOWN.
    monitor.put_state(
        {
            "Id": {"S": "bad"},
            "State": {"S": "UP"},
            "Failures": {"N": "1"},
            "StreakStart": {"S": at(0)},
            "LastEvent": {"S": at(0)},
            "Pending": {"S": stored},
            "Watch": {"S": "default"},  # as the function wrote it: only Pending was re-typed
        }
    )
    targets: list[object] = [{"name": "bad", "url": f"{http_server.base_url}/status/503", "failureThreshold": 3}]
    with caplog.at_level(logging.INFO, logger="healthcheck"):
        for minute in (1, 2):
            assert monitor.run(at(minute), targets) is None
    subjects = [alert.subject for alert in monitor.alerts()]
    assert subjects[-1] == "DOWN: bad"  # the third failure in a row, at 18:02
    assert "changed by another invocation" not in caplog.text
    state = monitor.state("bad")
    assert state is not None
    assert (state["State"], state["Since"], "Pending" in state) == ({"S": "DOWN"}, {"S": at(0)}, False)
