"""Secrets never reach a stored log line."""

from portal.core.masking import MASK
from portal.runner.terraform import Terraform
from portal.runs.models import Run


def test_secret_printed_by_terraform_is_masked_in_the_log(make_user, service_form_data, tmp_path, monkeypatch):
    from portal.catalog.onboarding import register_service

    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "s3cr3t-value-123")
    _, change = register_service(make_user("dev", "developers"), **service_form_data)
    run = change.runs_in_order()[0]
    (tmp_path / "main.tf").write_text('output "leak" {\n  value = "key=s3cr3t-value-123"\n}\n')

    terraform = Terraform(tmp_path, run.append_log)
    terraform.run("init", input=False)
    terraform.run("apply", input=False, auto_approve=True)

    log = Run.objects.get(pk=run.pk).log
    assert "s3cr3t-value-123" not in log
    assert f"key={MASK}" in log
