"""One authorization, decided as AWS does, by principalmapper's local policy simulation
(`local_check_authorization_full`: explicit Deny anywhere wins; else the resource policy, the
permissions boundary, the session policy and the identity policies must each allow), and explained:
which part said no, with the statement.

principalmapper decides; this module only names the part that is missing, with principalmapper's
own statement matcher (`policy_has_matching_statement`) run statement by statement. Two of its
condition operators disagree with AWS's documented rule that a negated operator (StringNotLike,
ArnNotLike...) is true when the key is absent (IAM User Guide, "Condition operators": "If the key
that you specify in a policy condition is not present in the request context, the values do not
match ... the condition returns true for negated operators"); `supported` refuses a document that
uses one of those, rather than deciding it wrongly.
"""

import copy
from dataclasses import dataclass, field

from tests.iam.identities import Document, Identity
from tests.iam.pmapper import CaseInsensitiveDict, local_check_authorization_full, policy_has_matching_statement

# principalmapper returns `IfExists` (False) for these when the key is absent, where AWS says true.
UNSUPPORTED_OPERATORS = ("StringNotLike",)


@dataclass
class Check:
    """One authorization AWS makes for a call: the call's own, or one it makes on the side."""

    action: str
    resource: str
    context: dict = field(default_factory=dict)
    # Why AWS makes this authorization when it is not the call's own action, with the page that says so.
    because: str = ""
    # Who is authorized, when not the caller (the task execution role when a task starts).
    identity: Identity | None = None
    resource_policy: Document | None = None
    resource_owner: str | None = None


@dataclass
class Decision:
    allowed: bool
    missing: list[str]


def supported(document: Document) -> None:
    statements = document.doc["Statement"]
    for statement in statements if isinstance(statements, list) else [statements]:
        for operator in statement.get("Condition", {}):
            if operator.split(":")[-1].replace("IfExists", "") in UNSUPPORTED_OPERATORS:
                raise AssertionError(
                    f"{document.source} uses {operator}, which principalmapper decides unlike AWS when the key is absent: "
                    "extend tests/iam/decide.py before relying on it"
                )


def decide(identity: Identity, check: Check, context: dict) -> Decision:
    session = identity.session_policy.doc if identity.session_policy else None
    resource_policy = check.resource_policy.doc if check.resource_policy else None
    allowed = local_check_authorization_full(
        identity.node,
        check.action,
        check.resource,
        copy.deepcopy(context),
        resource_policy,
        check.resource_owner,
        None,
        session,
    )
    if allowed:
        return Decision(True, [])
    return Decision(False, explain(identity, check, CaseInsensitiveDict(context)))


def _matching(document: Document, effect: str, check: Check, context) -> list[str]:
    statements = document.doc["Statement"]
    statements = statements if isinstance(statements, list) else [statements]
    found = []
    for index, statement in enumerate(statements):
        if policy_has_matching_statement({"Statement": [statement]}, effect, check.action, check.resource, context):
            found.append(f"{document.source}, statement {statement.get('Sid') or index}")
    return found


def explain(identity: Identity, check: Check, context) -> list[str]:
    """Every part that refuses: explicit Denies (with their statements), and each policy type that
    has no Allow."""
    missing = []
    documents = list(identity.policies)
    if identity.boundary:
        documents.append(identity.boundary)
    if identity.session_policy:
        documents.append(identity.session_policy)
    for document in documents:
        missing += [f"an explicit Deny: {where}" for where in _matching(document, "Deny", check, context)]
    if check.resource_policy is not None:
        missing += [f"an explicit Deny: {where}" for where in _matching(check.resource_policy, "Deny", check, context)]
    if identity.boundary and not _matching(identity.boundary, "Allow", check, context):
        missing.append(f"not allowed by the permissions boundary ({identity.boundary.source})")
    if identity.session_policy and not _matching(identity.session_policy, "Allow", check, context):
        missing.append("not allowed by the session policy")
    if not any(_matching(d, "Allow", check, context) for d in identity.policies):
        missing.append("no Allow in the identity policies")
    if (
        check.resource_policy is not None
        and check.resource.startswith(("arn:aws:iam:", "arn:aws:kms:"))
        and not _matching(check.resource_policy, "Allow", check, context)
    ):
        missing.append(f"not allowed by {check.resource_policy.source} (IAM and KMS require it in the same account)")
    return missing or ["refused by principalmapper for a reason this explanation does not name"]
