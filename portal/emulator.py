"""The local AWS emulator: moto's server, with two of its answers mended so that a second plan of
an applied workspace says "No changes", as it does on AWS, and its serving mended.

`python -m portal.emulator -H HOST -p PORT` is `python -m moto.server` after `mend()`; the tests
call `mend()` before starting their in-process server. The modules stay exactly as they run on AWS:
each mend makes moto answer what AWS answers, and nothing here is used against AWS.

- A security group rule that references another group (not an address range) lost its description:
  moto keeps it with the referenced group but reads it from the address range only, so every plan
  wanted to write the description again.
- CreateLaunchTemplate's own tags (TagSpecifications of type `launch-template`, the template's tags)
  were copied into the template's data, where AWS allows only the tags of what it launches, so every
  plan wanted to remove them, making a new template version and updating the autoscaling group.

And one mend of how it serves, so that no answer is lost on the way: each answer leaves in one send
(see serve_each_answer_in_one_send).
"""

import sys


def mend() -> None:
    """Idempotent."""
    from moto.ec2.models.launch_templates import LaunchTemplateBackend
    from moto.ec2.models.security_groups import SecurityGroupRule

    if getattr(SecurityGroupRule, "_portal_mended", False):
        return

    def description(rule: SecurityGroupRule) -> str | None:
        return (rule.ip_range or {}).get("Description") or (rule.source_group or {}).get("Description")

    SecurityGroupRule.description = property(description)
    SecurityGroupRule._portal_mended = True

    create_launch_template = LaunchTemplateBackend.create_launch_template

    def create_without_own_tags_in_data(self, name, description, template_data, tag_spec):
        specifications = template_data.get("TagSpecifications")
        if specifications:
            template_data["TagSpecifications"] = [
                spec for spec in specifications if spec.get("ResourceType") != "launch-template"
            ]
        return create_launch_template(self, name, description, template_data, tag_spec)

    LaunchTemplateBackend.create_launch_template = create_without_own_tags_in_data

    serve_each_answer_in_one_send()


def serve_each_answer_in_one_send() -> None:
    """werkzeug's development server, which moto's server is, sends an answer's head and its body
    in two sends (an unbuffered socket writer, Nagle's algorithm on) and closes every connection after
    it. Seen on the wire under bin/portal (about one answer in 2,000): the AWS provider's client
    closed its connection once the head had come, before the body; the body met a reset, the SDK
    counted a connection error and sent the call again, although the emulator had carried it out.
    Buffered, the head and the body leave in one send when the answer is flushed."""
    from moto.moto_server.werkzeug_app import MotoRequestHandler

    # socketserver: a buffered writer, which werkzeug flushes once the answer is written. Large enough
    # for a whole answer (a state file is tens of KB): a smaller buffer sends a larger body apart.
    MotoRequestHandler.wbufsize = 1 << 20
    MotoRequestHandler.disable_nagle_algorithm = True  # the flushed answer leaves at once


def main(argv: list[str] | None = None) -> None:
    mend()
    from moto.server import main as moto_main

    moto_main(argv if argv is not None else sys.argv[1:])


if __name__ == "__main__":
    main()
