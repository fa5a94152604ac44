"""/healthz says whether the database, Redis, a worker and the AWS endpoint are reachable."""

import pytest


@pytest.mark.django_db
def test_healthy_when_every_part_answers(client, rq_worker):
    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {
        "healthy": True,
        "checks": {name: {"ok": True} for name in ("database", "redis", "worker", "aws")},
    }


@pytest.mark.django_db
def test_503_when_the_aws_endpoint_is_unreachable(client, settings, rq_worker):
    from tests.conftest import free_port

    settings.AWS_ENDPOINT_URL = f"http://127.0.0.1:{free_port()}"

    response = client.get("/healthz")

    assert response.status_code == 503
    body = response.json()
    assert body["healthy"] is False
    assert body["checks"]["aws"]["ok"] is False
    assert body["checks"]["database"] == {"ok": True}
