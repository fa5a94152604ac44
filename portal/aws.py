import boto3
from botocore.config import Config
from django.conf import settings


def client(service: str, *, timeout: float = 10):
    """A boto3 client for the configured region, and the emulator when AWS_ENDPOINT_URL is set."""
    return boto3.client(
        service,
        region_name=settings.AWS_REGION,
        endpoint_url=settings.AWS_ENDPOINT_URL or None,
        config=Config(connect_timeout=timeout, read_timeout=timeout, retries={"max_attempts": 2}),
    )
