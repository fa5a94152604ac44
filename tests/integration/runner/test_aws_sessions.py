"""The portal's AWS clients (portal/core/aws.py) are made from one session, whose botocore data a
worker reads before it forks: a client acting as a role, new in a work-horse's job, reads no data
file, and still acts as the role."""

import json
import threading
import uuid

import boto3
import botocore.loaders
import pytest

from portal.core import aws


@pytest.fixture
def role_arn():
    iam = boto3.client("iam", endpoint_url=aws.settings.AWS_ENDPOINT_URL, region_name=aws.settings.AWS_REGION)
    trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole"}]}
    return iam.create_role(RoleName=f"sessions-{uuid.uuid4().hex[:8]}", AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]


@pytest.fixture
def files_read(monkeypatch):
    """The data files botocore reads in this thread (the emulator answers on threads of its own, and
    reads its own)."""
    read = []
    load_file = botocore.loaders.JSONFileLoader.load_file
    this_thread = threading.get_ident()

    def counting(self, file_path):
        if threading.get_ident() == this_thread:
            read.append(file_path)
        return load_file(self, file_path)

    monkeypatch.setattr(botocore.loaders.JSONFileLoader, "load_file", counting)
    return read


def test_a_role_client_made_after_the_warm_up_reads_no_botocore_data_and_acts_as_the_role(role_arn, files_read, monkeypatch):
    monkeypatch.setattr(aws, "_sessions", {})
    aws.warm("s3", "sts")
    files_read.clear()

    as_role = aws.client("sts", role_arn=role_arn)  # assumes the role: a new session
    s3_as_role = aws.client("s3", role_arn=role_arn)

    assert files_read == []
    assert ":assumed-role/" in as_role.get_caller_identity()["Arn"]
    assert ":assumed-role/" not in aws.client("sts").get_caller_identity()["Arn"]
    assert "Buckets" in s3_as_role.list_buckets()
