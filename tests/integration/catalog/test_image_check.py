"""An image tag is checked against the service's repository (ECR on the emulator) before anything is
planned: a change naming a tag that is not there is held with a message on the image tag, by the
pages and the API alike, and nothing is kept; with PORTAL_IMAGE_CHECK=warn it is planned and its
change page warns. A registration, whose repository does not exist yet, says when to push. The
service page says how to push, to the repository's address."""

import secrets

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from portal.catalog.models import Service, ServiceRevision
from portal.catalog.onboarding import change_service, register_service
from portal.core.aws import client as aws_client
from portal.runs.models import Change, Run
from portal.workspaces import images
from tests.conftest import api_for, plan_approve_apply, record_plan
from tests.images import image_manifest

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("parked_queue")]

MANIFEST = image_manifest("b")


@pytest.fixture
def onboarded(people, service_form_data):
    """An applied service whose repository exists and holds 1.0.0 (its declared tag)."""
    name = f"image-check-{secrets.token_hex(3)}"
    service, change = register_service(people["dev"], **{**service_form_data, "name": name})
    plan_approve_apply(change, people["approver"])
    ecr = aws_client("ecr")
    ecr.create_repository(repositoryName=service.resource_name)
    ecr.put_image(repositoryName=service.resource_name, imageManifest=MANIFEST, imageTag="1.0.0")
    yield Service.objects.get(pk=service.pk)
    ecr.delete_repository(repositoryName=service.resource_name, force=True)


def counts(service):
    return ServiceRevision.objects.filter(service=service).count(), Change.objects.filter(service=service).count()


def test_a_tag_that_is_not_in_the_repository_is_held_by_the_page_and_the_api_and_nothing_is_kept(client, people, onboarded, service_form_data):
    before = counts(onboarded)
    client.force_login(people["dev"])
    page = client.post(reverse("catalog:service-change", args=[onboarded.name]), {**service_form_data, "name": onboarded.name, "image_tag": "9.9.9"})
    assert page.status_code == 400
    assert "9.9.9 is not in the repository" in page.content.decode()

    api = api_for(people["dev"])
    answer = api.post(f"/api/v1/services/{onboarded.name}/deployments/", {"image_tag": "9.9.9"}, format="json")
    assert answer.status_code == 400, answer.content
    assert "9.9.9 is not in the repository" in answer.json()["fields"]["image_tag"][0]
    assert counts(onboarded) == before, "a held change keeps no revision and no change"


def test_a_change_of_another_field_is_held_too_when_the_declared_tag_is_gone(people, onboarded):
    aws_client("ecr").batch_delete_image(repositoryName=onboarded.resource_name, imageIds=[{"imageTag": "1.0.0"}])
    with pytest.raises(ValidationError) as held:
        change_service(onboarded, people["dev"], cpu=512)
    assert "1.0.0 is not in the repository" in str(held.value)


def test_a_pushed_tag_is_planned(people, onboarded):
    aws_client("ecr").put_image(repositoryName=onboarded.resource_name, imageManifest=MANIFEST, imageTag="2.0.0")
    change = change_service(onboarded, people["dev"], image_tag="2.0.0")
    assert change is not None and change.revision.image_tag == "2.0.0"


def test_with_the_check_set_to_warn_a_missing_tag_is_planned_and_its_change_page_warns(client, people, onboarded, settings):
    settings.IMAGE_CHECK = "warn"
    change = change_service(onboarded, people["dev"], image_tag="9.9.9")
    for run in change.runs_in_order():
        record_plan(run)
    client.force_login(people["approver"])
    page = client.get(reverse("changes:detail", args=[change.pk])).content.decode()
    assert 'id="image"' in page and "9.9.9 is not in the repository" in page


def test_a_registration_says_to_push_once_its_repository_has_applied_and_the_service_page_says_how(client, people, service_form_data):
    name = f"image-check-{secrets.token_hex(3)}"
    service, change = register_service(people["dev"], **{**service_form_data, "name": name})
    client.force_login(people["dev"])
    page = client.get(reverse("changes:detail", args=[change.pk])).content.decode()
    assert f"The repository {service.resource_name} is made by this service&#x27;s first apply" in page

    plan_approve_apply(change, people["approver"])
    url = f"123456789012.dkr.ecr.eu-west-1.amazonaws.com/{service.resource_name}"
    Run.objects.filter(workspace__service=service, workspace__module="ecr-repository").update(outputs={"repository_url": url})
    page = client.get(reverse("catalog:service-detail", args=[name])).content.decode()
    assert f"docker push {url}:1.0.0" in page
    assert "docker login --username AWS --password-stdin 123456789012.dkr.ecr.eu-west-1.amazonaws.com" in page


def test_an_unanswered_check_holds_nothing_and_says_it_could_not_check(people, onboarded, settings):
    settings.AWS_ENDPOINT_URL = "http://127.0.0.1:9"  # nothing listens there
    check = images.check_image(onboarded.resource_name, "9.9.9")
    assert check.found == images.Found.UNKNOWN and "could not be checked" in check.message
    assert change_service(onboarded, people["dev"], image_tag="9.9.9") is not None
