"""The instance type table (portal/capacity/instance_types.csv) against the EC2 API's own answer, on the
session's emulator (split from tests/unit/capacity/test_capacity_model.py, which needs no emulator)."""

from portal.capacity.instance_types import INSTANCE_TYPES
from portal.core.aws import client as aws_client


def test_every_row_of_the_table_is_what_the_ec2_api_answers():
    """The emulator serves AWS's DescribeInstanceTypes answers (moto's copy of them)."""
    answer = aws_client("ec2").describe_instance_types(InstanceTypes=list(INSTANCE_TYPES))["InstanceTypes"]
    by_name = {entry["InstanceType"]: entry for entry in answer}

    assert set(by_name) == set(INSTANCE_TYPES)
    for name, kind in INSTANCE_TYPES.items():
        entry = by_name[name]
        assert (kind.vcpus, kind.memory_mib, kind.max_enis, kind.architecture) == (
            entry["VCpuInfo"]["DefaultVCpus"],
            entry["MemoryInfo"]["SizeInMiB"],
            entry["NetworkInfo"]["MaximumNetworkInterfaces"],
            entry["ProcessorInfo"]["SupportedArchitectures"][0],
        ), name
        # The ECS guide: the task limit without trunking is one fewer than the network interfaces.
        assert kind.tasks_without_trunking == kind.max_enis - 1, name
        assert kind.architecture == "x86_64", f"{name}: the cluster's AMI is x86_64"
