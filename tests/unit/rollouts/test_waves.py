"""How a rollout orders its workspaces (the `*_state_key` variables are the dependency graph) and
groups them into waves."""

from dataclasses import dataclass, field

import pytest

from portal.rollouts.waves import in_dependency_order, into_waves, readers_of, reads


@dataclass
class Place:
    path: str
    is_platform: bool = False
    variables: dict = field(default_factory=dict)


def key(path):
    return f"{path}/terraform.tfstate"


ROLES = Place("iam/workload-roles/art", True, {"name_prefix": "art"})
NETWORK = Place("vpc/art-network", True, {"roles_state_key": key("iam/workload-roles/art")})
CLUSTER = Place("ecs/clusters/art-cluster", True, {"network_state_key": key("vpc/art-network"), "roles_state_key": key("iam/workload-roles/art")})


def service(name):
    return Place(
        f"ecs/services/{name}", False, {"network_state_key": key("vpc/art-network"), "cluster_state_key": key("ecs/clusters/art-cluster"), "name": name}
    )


def test_a_workspace_reads_the_state_keys_it_is_given_and_nothing_else():
    assert reads(CLUSTER) == {key("vpc/art-network"), key("iam/workload-roles/art")}
    assert reads(Place("x", variables={"state_key_note": "a", "network_state_key": 3})) == set()  # not a *_state_key text
    assert reads(Place("x", variables=None)) == set()


def test_platform_workspaces_come_first_each_after_the_ones_it_reads_then_the_services_by_path():
    ordered = in_dependency_order([service("b"), CLUSTER, service("a"), NETWORK, ROLES])
    assert [place.path for place in ordered] == [ROLES.path, NETWORK.path, CLUSTER.path, "ecs/services/a", "ecs/services/b"]


def test_workspaces_that_read_each_other_cannot_be_ordered():
    one = Place("vpc/one", True, {"x_state_key": key("vpc/two")})
    two = Place("vpc/two", True, {"x_state_key": key("vpc/one")})
    with pytest.raises(ValueError, match="vpc/one, vpc/two"):
        in_dependency_order([one, two, ROLES])


def test_readers_of_a_platform_workspace_are_the_ones_given_its_key():
    workspaces = [ROLES, NETWORK, CLUSTER, service("a"), Place("ecs/ecr-repositories/a")]
    assert [place.path for place in readers_of([NETWORK.path], workspaces)] == [CLUSTER.path, "ecs/services/a"]
    assert [place.path for place in readers_of([ROLES.path], workspaces)] == [CLUSTER.path, NETWORK.path]
    assert readers_of(["ecs/services/a"], workspaces) == []


@pytest.mark.parametrize(
    ("count", "sizes", "expected"),
    [
        (10, [1, 3], [1, 3, 3, 3]),
        (10, [1, 5, 10], [1, 5, 4]),
        (1, [1, 5], [1]),
        (3, [2], [2, 1]),
        (0, [1, 5], []),
    ],
)
def test_services_go_in_waves_of_the_sizes_given_the_last_repeated(count, sizes, expected):
    services = [service(f"s{index:02}") for index in range(count)]
    waves = into_waves(services, sizes)
    assert [len(wave) for wave in waves] == expected
    assert [place for wave in waves for place in wave] == services  # every one, once, in order


def test_each_platform_workspace_is_a_wave_of_its_own_before_the_services():
    waves = into_waves(in_dependency_order([service("a"), NETWORK, service("b"), ROLES]), [5])
    assert [[place.path for place in wave] for wave in waves] == [[ROLES.path], [NETWORK.path], ["ecs/services/a", "ecs/services/b"]]


def test_wave_sizes_must_be_at_least_one():
    with pytest.raises(ValueError):
        into_waves([service("a")], [])
    with pytest.raises(ValueError):
        into_waves([service("a")], [1, 0])
