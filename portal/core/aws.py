import threading
import time

import boto3
from botocore.config import Config
from django.conf import settings

# Credentials of an assumed role are reused until this close to their expiry.
RENEW_BEFORE_SECONDS = 300
_sessions: dict[str, tuple[boto3.Session, float]] = {}
_sessions_lock = threading.Lock()


def client(service: str, *, timeout: float = 10, role_arn: str | None = None):
    """A boto3 client for the configured region, and the emulator when AWS_ENDPOINT_URL is set.
    With `role_arn`, it acts as that role (assumed with the portal's own credentials)."""
    session = assumed(role_arn) if role_arn else boto3
    return session.client(
        service,
        region_name=settings.AWS_REGION,
        endpoint_url=settings.AWS_ENDPOINT_URL or None,
        config=Config(connect_timeout=timeout, read_timeout=timeout, retries={"max_attempts": 2}),
    )


def assumed(role_arn: str) -> boto3.Session:
    with _sessions_lock:
        session, expires = _sessions.get(role_arn, (None, 0.0))
        if session is None or expires - time.time() < RENEW_BEFORE_SECONDS:
            credentials = client("sts").assume_role(RoleArn=role_arn, RoleSessionName="portal")["Credentials"]
            session = boto3.Session(
                aws_access_key_id=credentials["AccessKeyId"],
                aws_secret_access_key=credentials["SecretAccessKey"],
                aws_session_token=credentials["SessionToken"],
            )
            _sessions[role_arn] = (session, credentials["Expiration"].timestamp())
        return session
