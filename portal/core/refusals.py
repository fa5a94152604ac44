"""A refusal is a value with a reason: every rule of the portal (who may act, what state allows it)
answers with one, and pages and the API show its sentence. Imports nothing of the portal, so every
layer may use it."""

from dataclasses import dataclass


@dataclass(frozen=True)
class Refusal:
    """Why an action is not allowed: a stable code for programs and a sentence for people.
    `forbidden` refusals are about who asks (HTTP 403); the others about the state things are in
    (HTTP 409)."""

    code: str
    message: str
    forbidden: bool = False

    @property
    def http_status(self) -> int:
        return 403 if self.forbidden else 409


class Refused(Exception):
    def __init__(self, refusal: Refusal):
        super().__init__(refusal.message)
        self.refusal = refusal
