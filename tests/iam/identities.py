"""Who signed a recorded request, and what AWS would evaluate for them: read from moto's own backends
(the access keys of IAM users; STS's assumed roles, which keep the role ARN and the session policy),
with the policy documents the modules render for AWS in place of the emulator's renderings where
they differ (see tests/iam/rendering.py)."""

import json
from dataclasses import dataclass, field

from moto.core import DEFAULT_ACCOUNT_ID
from moto.iam.models import iam_backends
from moto.sts.models import sts_backends

from tests.iam.pmapper import Node, Policy

ACCOUNT = DEFAULT_ACCOUNT_ID
PARTITION = "aws"


@dataclass(frozen=True)
class Document:
    """A policy as AWS evaluates it: where it comes from (managed policy ARN, inline policy, session
    policy, boundary) and its statements."""

    source: str
    doc: dict

    def statement(self, index: int) -> dict:
        statements = self.doc["Statement"]
        return statements[index] if isinstance(statements, list) else statements


@dataclass
class Identity:
    key_id: str
    kind: str  # "role session", "user", "unknown"
    principal_arn: str  # the role's or the user's ARN (aws:PrincipalArn)
    session_arn: str = ""
    session_name: str = ""
    policies: list[Document] = field(default_factory=list)  # identity-based: inline and attached
    boundary: Document | None = None
    session_policy: Document | None = None
    node: Node | None = None

    @property
    def name(self) -> str:
        """The role's or user's name: how the summary groups identities."""
        return self.principal_arn.rsplit("/", 1)[-1]


def _iam():
    return iam_backends[ACCOUNT][PARTITION]


def _default_document(managed_policy) -> dict:
    version = next(v for v in managed_policy.versions if v.is_default)
    return _loaded(version.document)


def _loaded(document) -> dict:
    return json.loads(document) if isinstance(document, str) else document


class Identities:
    """Access key id -> Identity, memoized. `overrides`: policy source -> the document AWS would hold
    (the modules' AWS rendering), for the policies whose emulator rendering differs."""

    def __init__(self, overrides: dict[str, dict]):
        self.overrides = overrides
        self._known: dict[str, Identity] = {}

    def __call__(self, key_id: str) -> Identity:
        if key_id not in self._known:
            self._known[key_id] = self._resolve(key_id)
        return self._known[key_id]

    def document(self, source: str, doc) -> Document:
        return Document(source, self.overrides.get(source, _loaded(doc)))

    def managed(self, arn: str) -> Document:
        policy = _iam().managed_policies.get(arn) or _iam().aws_managed_policies.get(arn)
        if policy is None:
            raise LookupError(f"no managed policy {arn} in the emulator")
        return self.document(arn, _default_document(policy))

    def _resolve(self, key_id: str) -> Identity:
        for assumed in sts_backends[ACCOUNT][PARTITION].assumed_roles:
            if assumed.access_key_id == key_id:
                return self.role_session(key_id, assumed.role_arn, assumed.session_name, assumed.arn, assumed.policy)
        for user in _iam().users.values():
            if any(key.access_key_id == key_id for key in user.access_keys):
                return self.user(key_id, user)
        # The emulator's own credentials (the bootstrap's): no IAM principal of the account.
        return Identity(key_id=key_id, kind="unknown", principal_arn=f"unknown/{key_id}")

    def role_session(self, key_id, role_arn, session_name="", session_arn="", session_policy=None) -> Identity:
        role = next((r for r in _iam().roles.values() if r.arn == role_arn), None)
        if role is None:
            raise LookupError(f"{role_arn} (assumed as {key_id}) is no role of the emulator any more")
        policies = [self.document(f"{role.arn} inline {name}", doc) for name, doc in sorted(role.policies.items())]
        policies += [self.managed(arn) for arn in sorted(role.managed_policies)]
        boundary = self.managed(role.permissions_boundary_arn) if role.permissions_boundary_arn else None
        identity = Identity(
            key_id=key_id,
            kind="role session",
            principal_arn=role.arn,
            session_arn=session_arn,
            session_name=session_name,
            policies=policies,
            boundary=boundary,
            session_policy=Document(f"the session policy of {session_name}", _loaded(session_policy)) if session_policy else None,
        )
        identity.node = _node(identity, role.id, trust=_loaded(role.assume_role_policy_document))
        return identity

    def user(self, key_id, user) -> Identity:
        arn = f"arn:{PARTITION}:iam::{ACCOUNT}:user{user.path}{user.name}"
        policies = [self.document(f"{arn} inline {name}", doc) for name, doc in sorted(user.policies.items())]
        policies += [self.managed(a) for a in sorted(user.managed_policies)]
        for group in _iam().get_groups_for_user(user.name):
            policies += [self.document(f"{group.arn} inline {name}", doc) for name, doc in sorted(group.policies.items())]
            policies += [self.managed(a) for a in sorted(group.managed_policies)]
        boundary_arn = getattr(user, "permissions_boundary", None)
        identity = Identity(
            key_id=key_id,
            kind="user",
            principal_arn=arn,
            policies=policies,
            boundary=self.managed(boundary_arn) if boundary_arn else None,
        )
        identity.node = _node(identity, user.id, trust=None)
        return identity


def _node(identity: Identity, unique_id: str, trust: dict | None) -> Node:
    return Node(
        arn=identity.principal_arn,
        id_value=f"{unique_id}:{identity.session_name}" if identity.session_name else unique_id,
        attached_policies=[Policy(identity.principal_arn, d.source, d.doc) for d in identity.policies],
        group_memberships=[],
        trust_policy=trust,
        instance_profile=None,
        num_access_keys=0,
        active_password=False,
        is_admin=False,
        permissions_boundary=Policy(identity.boundary.source, identity.boundary.source, identity.boundary.doc) if identity.boundary else None,
        has_mfa=False,
        tags={},
    )
