import threading
import time

import boto3
from botocore.config import Config
from django.conf import settings

# Credentials of an assumed role are reused until this close to their expiry.
RENEW_BEFORE_SECONDS = 300
_sessions: dict[str, tuple[dict[str, str], float]] = {}
_sessions_lock = threading.Lock()


def own_session() -> boto3.Session:
    """boto3's default session: the portal's own credentials, and botocore's data (the endpoints,
    each service's model) read once for every client of the process. A client acting as a role is
    made from it too, with the role's credentials: a session of its own per role would read and parse
    that data again, 0.1 to 0.3 s of CPU for S3 alone, in every job of a work-horse (its heartbeat's S3
    client was most of the RQ workers' own CPU in the tests' profile)."""
    if boto3.DEFAULT_SESSION is None:
        boto3.setup_default_session()
    return boto3.DEFAULT_SESSION


def warm(*services: str) -> None:
    """Read botocore's data for `services` now (in a process about to fork: the children inherit it)."""
    for service in services:
        client(service)


def client(service: str, *, timeout: float = 10, role_arn: str | None = None):
    """A boto3 client for the configured region, and the emulator when AWS_ENDPOINT_URL is set.
    With `role_arn`, it acts as that role (assumed with the portal's own credentials)."""
    return own_session().client(
        service,
        region_name=settings.AWS_REGION,
        endpoint_url=settings.AWS_ENDPOINT_URL or None,
        config=Config(connect_timeout=timeout, read_timeout=timeout, retries={"max_attempts": 2}),
        **(assumed(role_arn) if role_arn else {}),
    )


def assumed(role_arn: str) -> dict[str, str]:
    """The credentials of `role_arn`, as a client takes them."""
    with _sessions_lock:
        credentials, expires = _sessions.get(role_arn, (None, 0.0))
        if credentials is None or expires - time.time() < RENEW_BEFORE_SECONDS:
            answer = client("sts").assume_role(RoleArn=role_arn, RoleSessionName="portal")["Credentials"]
            credentials = {
                "aws_access_key_id": answer["AccessKeyId"],
                "aws_secret_access_key": answer["SecretAccessKey"],
                "aws_session_token": answer["SessionToken"],
            }
            _sessions[role_arn] = (credentials, answer["Expiration"].timestamp())
        return credentials
