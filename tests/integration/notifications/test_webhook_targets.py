"""Webhooks reach only receivers: every internal address form is refused when a webhook is added (with
why) and again when it is delivered; the delivery connects to the address that was checked (a name
that answers differently later reaches nothing internal), keeps the name for Host, SNI and the
certificate; PORTAL_NOTIFICATIONS_ALLOWED_NETWORKS admits internal receivers on purpose; the page
tells each outcome in words, never an exception's text."""

import os
import ssl
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import trustme

from portal.catalog.models import Service
from portal.notifications.delivery import DeliveryFailed, deliver
from portal.notifications.models import Delivery, Webhook
from portal.notifications.targets import parse_networks
from tests.builders import a_team
from tests.conftest import ROOT, free_port

pytestmark = pytest.mark.django_db

PUBLIC = "93.184.215.14"

# (url, what the refusal must name). Every one is internal: loopback, the cloud's metadata and
# credentials endpoints, private and shared ranges, in the spellings a resolver takes for them.
INTERNAL = [
    ("http://127.0.0.1/hook", "127.0.0.1 is a loopback address"),
    ("http://127.0.0.1:55000/latest", "127.0.0.1 is a loopback address"),  # the portal's own AWS emulator
    ("http://127.1/", "127.1 is a loopback address"),  # short form
    ("http://127.0.1/", "127.0.1 is a loopback address"),
    ("http://2130706433/", "2130706433 is a loopback address"),  # decimal
    ("http://0177.0.0.1/", "0177.0.0.1 is a loopback address"),  # octal
    ("http://0x7f.1/", "0x7f.1 is a loopback address"),  # hex, short
    ("http://0x7f000001/", "0x7f000001 is a loopback address"),
    ("http://017700000001/", "017700000001 is a loopback address"),
    ("http://127.000.000.001/", "is a loopback address"),
    ("https://0x7f.0.0.1:8443/hook", "is a loopback address"),
    ("http://127.255.255.254:8080/", "is a loopback address"),
    ("http://localhost/", "localhost resolves to a loopback address"),
    ("http://LOCALHOST:8000/", "localhost resolves to a loopback address"),
    ("http://0.0.0.0/", "0.0.0.0 is the unspecified address"),
    ("http://0/", "0 is the unspecified address"),
    ("http://[::1]/", "::1 is a loopback address"),
    ("http://[0:0:0:0:0:0:0:1]:8080/", "is a loopback address"),
    ("http://[::]/", ":: is the unspecified address"),
    ("http://[::ffff:127.0.0.1]/", "an IPv6 form of a loopback address"),  # IPv4-mapped
    ("http://[::ffff:7f00:1]/", "an IPv6 form of a loopback address"),
    ("http://[::ffff:169.254.169.254]/", "an IPv6 form of a link-local address"),
    ("http://[::ffff:a00:1]/", "an IPv6 form of a private address"),
    ("http://[::127.0.0.1]/", "a reserved address"),  # IPv4-compatible (deprecated)
    ("http://[64:ff9b::7f00:1]/", "an IPv6 form of a loopback address"),  # NAT64 of 127.0.0.1
    ("http://[64:ff9b::a9fe:a9fe]/latest/meta-data/", "an IPv6 form of a link-local address"),  # NAT64 of metadata
    ("http://[64:ff9b:1::a00:1]/", "an IPv6 transition address"),  # RFC 8215 local-use NAT64
    ("http://[2002:7f00:1::1]/", "an IPv6 form of a loopback address"),  # 6to4 of 127.0.0.1
    ("http://[2002:a9fe:a9fe::]/", "an IPv6 form of a link-local address"),  # 6to4 of metadata
    ("http://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/", "an IPv6 transition address"),  # Teredo
    ("http://169.254.169.254/latest/meta-data/iam/", "a link-local address"),  # EC2 metadata
    ("http://169.254.170.2/v2/credentials/x", "a link-local address"),  # ECS task credentials
    ("http://[fd00:ec2::254]/latest/meta-data/", "a private address"),  # EC2 metadata over IPv6
    ("http://[fe80::1]/", "a link-local address"),
    ("http://[fc00::1]/", "a private address"),
    ("http://10.0.0.1/", "a private address"),
    ("http://172.16.0.1/", "a private address"),
    ("http://172.31.255.254:8443/", "a private address"),
    ("http://192.168.1.1/", "a private address"),
    ("http://100.64.0.1/", "not publicly routable"),  # shared address space (carrier NAT)
    ("http://198.18.0.1/", "a private address"),  # benchmarking
    ("http://192.0.0.8/", "not publicly routable"),  # IETF protocol assignments (3.11.7's is_global misses it)
    ("http://224.0.0.1/", "a multicast address"),
    ("http://[ff02::1]/", "a multicast address"),
    ("http://240.0.0.1/", "a private address"),  # reserved (Python counts 240/4 as private)
    ("http://255.255.255.255/", "a private address"),  # broadcast
    # names whose answers are internal (the test's resolver): every address counts, not the first
    ("http://internal.test/", "internal.test resolves to a private address"),
    ("http://metadata.test/", "metadata.test resolves to a link-local address"),
    ("http://mixed.test/", "mixed.test resolves to a loopback address"),
    ("http://six.test/", "six.test resolves to an IPv6 form of a loopback address"),
]

# Public forms that must still be accepted.
PUBLIC_FORMS = [
    "https://hooks.example.com/portal",
    "https://hooks.example.com:8443/portal?team=art",
    "http://93.184.215.14/hook",
    "http://93.184.215.14:8080/hook",
    "https://[2606:4700:4700::1111]/hook",
    "https://[64:ff9b::5db8:d70e]/hook",  # a DNS64 answer for a public IPv4 address
    "https://dual.test/hook",  # a name with public IPv4 and IPv6 addresses
    "https://bücher.test/hook",  # an IDN, resolved and sent as xn--bcher-kva.test
]


@pytest.fixture
def internal_names(dns):
    dns.names.update(
        {
            "internal.test": ["10.1.2.3"],
            "metadata.test": ["169.254.169.254"],
            "mixed.test": [PUBLIC, "127.0.0.1"],
            "six.test": ["::ffff:127.0.0.1"],
            "dual.test": [PUBLIC, "2606:4700:4700::1111"],
            "xn--bcher-kva.test": [PUBLIC],
        }
    )
    return dns


@pytest.fixture
def owner(make_user):
    user = make_user("owner", "developers")
    user.service = Service.objects.create(name="hooked-service", created_by=user, team=a_team())
    return user


def add(client, user, url):
    client.force_login(user)
    return client.post(f"/webhooks/services/{user.service.name}/", {"url": url, "events": ["applied"]})


@pytest.mark.parametrize("url, reason", INTERNAL, ids=[url for url, _ in INTERNAL])
def test_an_internal_address_is_refused_when_added_with_the_reason(client, owner, internal_names, url, reason):
    response = add(client, owner, url)
    content = response.content.decode()
    assert response.status_code == 400
    assert reason in content
    assert "the portal sends webhooks only to public addresses" in content
    assert not Webhook.objects.exists()


def test_a_name_is_refused_without_telling_what_it_resolves_to(client, owner, internal_names):
    content = add(client, owner, "http://internal.test/").content.decode()
    assert "internal.test resolves to a private address" in content
    assert "10.1.2.3" not in content  # the portal's DNS is not read through the form


@pytest.mark.parametrize("url", PUBLIC_FORMS)
def test_a_public_address_is_accepted(client, owner, internal_names, url):
    response = add(client, owner, url)
    assert response.status_code == 200, response.content.decode()
    assert Webhook.objects.get().url == url


@pytest.mark.parametrize(
    "url, message",
    [
        ("http://hooks.example.com:25/", "Port 25 is not one a webhook may use"),  # SMTP
        ("http://hooks.example.com:22/", "Port 22 is not one a webhook may use"),
        ("http://hooks.example.com:0/", "Port 0 is not one a webhook may use"),
        ("http://hooks.example.com:70000/", "Enter a valid URL"),
        ("https://user:pw@hooks.example.com/", "must not carry credentials"),
        ("http://nowhere.invalid/", "nowhere.invalid does not resolve"),
        ("gopher://hooks.example.com/", "Enter a valid URL"),
        ("file:///etc/passwd", "Enter a valid URL"),
    ],
)
def test_other_bad_urls_are_refused_with_why(client, owner, dns, url, message):
    response = add(client, owner, url)
    assert response.status_code == 400 and message in response.content.decode()
    assert not Webhook.objects.exists()


def test_the_model_refuses_alike_for_rows_that_arrive_any_other_way(owner, internal_names):
    from django.core.exceptions import ValidationError

    webhook = Webhook(service=owner.service, url="http://[::ffff:169.254.169.254]/", events=["applied"])
    with pytest.raises(ValidationError, match="link-local"):
        webhook.full_clean()


def test_allowed_networks_admit_internal_receivers_on_purpose(client, owner, internal_names, settings):
    settings.NOTIFICATIONS_ALLOWED_NETWORKS = parse_networks("10.0.0.0/8, fd00::/8")
    assert add(client, owner, "http://internal.test:8080/hook").status_code == 200
    assert add(client, owner, "http://[::ffff:10.9.9.9]/hook").status_code == 200  # the same network, mapped
    assert add(client, owner, "http://[fd12::1]/hook").status_code == 200
    assert add(client, owner, "http://127.0.0.1:8080/hook").status_code == 400  # loopback was not allowed
    assert Webhook.objects.count() == 3


@pytest.mark.parametrize(
    "value, message",
    [
        ("10.0.0.0/33", "'10.0.0.0/33' is not a network in CIDR form"),
        ("10.0.0.1/8", "has host bits set"),
        ("127.0.0.0/8,intranet", "'intranet' is not a network in CIDR form"),
    ],
)
def test_a_wrong_allowed_network_stops_the_portal_at_start(value, message):
    env = {**os.environ, "PORTAL_NOTIFICATIONS_ALLOWED_NETWORKS": value, "DJANGO_SETTINGS_MODULE": "portal.settings"}
    result = subprocess.run([sys.executable, "-c", "import django; django.setup()"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode != 0
    assert "PORTAL_NOTIFICATIONS_ALLOWED_NETWORKS:" in result.stderr and message in result.stderr


# --- at delivery -----------------------------------------------------------------------------------
class Receiver:
    """A real HTTP(S) server on loopback that records each POST's path and Host header, answers 200."""

    def __init__(self, address="127.0.0.1", port=None, tls: ssl.SSLContext | None = None):
        self.received = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                self.rfile.read(int(self.headers["Content-Length"]))
                receiver.received.append({"path": self.path, "host": self.headers["Host"]})
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer((address, port or free_port()), Handler)
        if tls is not None:
            self.server.socket = tls.wrap_socket(self.server.socket, server_side=True)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receivers():
    started = []

    def start(*args, **kwargs):
        started.append(Receiver(*args, **kwargs))
        return started[-1]

    yield start
    for receiver in started:
        receiver.close()


def delivery_to(owner, url) -> Delivery:
    """A webhook row written without the check (an older row, or a name whose answer has changed since)."""
    webhook = Webhook.objects.create(service=owner.service, url=url, events=["applied"])
    return Delivery.objects.create(webhook=webhook, event="applied", payload={"event": "applied"})


def test_a_delivery_to_an_internal_address_is_refused_by_the_portal_and_not_retried(client, owner, receivers):
    receiver = receivers()  # listening, and not allowed: nothing may reach it
    delivery = delivery_to(owner, f"http://127.0.0.1:{receiver.port}/hook")
    deliver(delivery.pk)  # returns: a refusal of the portal's is final, no retry is asked of RQ

    delivery.refresh_from_db()
    assert (delivery.status, delivery.outcome, delivery.attempts, delivery.response_code) == ("failed", "portal_refused", 1, None)
    assert receiver.received == []
    client.force_login(owner)
    content = client.get(f"/webhooks/services/{owner.service.name}/").content.decode()
    assert "Refused by the portal (address not allowed): 127.0.0.1 is a loopback address" in content


def test_a_name_that_rebinds_to_loopback_after_it_was_added_is_refused_at_delivery(client, owner, dns, receivers, settings):
    settings.NOTIFICATIONS_ALLOWED_NETWORKS = parse_networks("127.0.0.2/32")  # the good receiver only
    port = free_port()
    good, evil = receivers("127.0.0.2", port), receivers("127.0.0.1", port)
    answers = iter([["127.0.0.2"]])
    dns.names["rebind.test"] = lambda: next(answers, ["127.0.0.1"])
    assert add(client, owner, f"http://rebind.test:{port}/hook").status_code == 200  # checked: 127.0.0.2

    delivery = Delivery.objects.create(webhook=Webhook.objects.get(), event="applied", payload={})
    deliver(delivery.pk)  # asked again: now 127.0.0.1
    delivery.refresh_from_db()
    assert (delivery.status, delivery.outcome) == ("failed", "portal_refused")
    assert "rebind.test resolves to a loopback address" in delivery.outcome_text
    assert good.received == [] and evil.received == []


def test_a_delivery_connects_to_the_address_it_checked_not_to_a_second_answer(owner, dns, receivers, settings):
    """DNS rebinding within one delivery: the name answers an allowed address to the check and
    loopback to anyone who asks again. The POST reaches the checked address, with the name as Host."""
    settings.NOTIFICATIONS_ALLOWED_NETWORKS = parse_networks("127.0.0.2/32")
    port = free_port()
    good, evil = receivers("127.0.0.2", port), receivers("127.0.0.1", port)
    answers = iter([["127.0.0.2"]])
    dns.names["rebind.test"] = lambda: next(answers, ["127.0.0.1"])
    delivery = delivery_to(owner, f"http://rebind.test:{port}/hook")

    dns.asked.clear()
    deliver(delivery.pk)
    delivery.refresh_from_db()
    assert (delivery.status, delivery.outcome, delivery.response_code) == ("delivered", "delivered", 200)
    assert good.received == [{"path": "/hook", "host": f"rebind.test:{port}"}]
    assert evil.received == []
    assert dns.asked.count("rebind.test") == 1  # one lookup; the connection was made to 127.0.0.2 itself


def test_a_name_public_at_check_time_and_loopback_later_never_reaches_loopback(owner, dns, receivers, settings):
    settings.NOTIFICATIONS_TIMEOUT = 1
    evil = receivers("127.0.0.1")
    answers = iter([[PUBLIC]])
    dns.names["flip.test"] = lambda: next(answers, ["127.0.0.1"])
    delivery = delivery_to(owner, f"http://flip.test:{evil.port}/hook")

    with pytest.raises(DeliveryFailed):
        deliver(delivery.pk)
    delivery.refresh_from_db()
    # The public address is not reachable from the sandbox: unreachable, and loopback heard nothing.
    assert (delivery.status, delivery.outcome) == ("failed", "unreachable")
    assert evil.received == []
    assert dns.asked.count("flip.test") == 1


@pytest.fixture
def ca():
    return trustme.CA()


def tls_for(ca, name) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert(name).configure_cert(context)
    return context


def test_https_to_the_pinned_address_verifies_the_certificate_for_the_name(owner, dns, receivers, ca, settings, tmp_path, loopback_receivers_allowed):
    bundle = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(bundle))
    settings.NOTIFICATIONS_CA_BUNDLE = str(bundle)
    right, wrong = receivers(tls=tls_for(ca, "hooks.test")), receivers(tls=tls_for(ca, "other.test"))
    dns.names["hooks.test"] = ["127.0.0.1"]

    delivered = delivery_to(owner, f"https://hooks.test:{right.port}/hook")
    deliver(delivered.pk)
    delivered.refresh_from_db()
    assert (delivered.status, delivered.outcome) == ("delivered", "delivered")
    assert right.received == [{"path": "/hook", "host": f"hooks.test:{right.port}"}]

    refused = delivery_to(owner, f"https://hooks.test:{wrong.port}/hook")  # a certificate for another name
    with pytest.raises(DeliveryFailed):
        deliver(refused.pk)
    refused.refresh_from_db()
    assert (refused.status, refused.outcome) == ("failed", "unreachable")
    assert refused.outcome_text == "Unreachable: the TLS handshake or the certificate's name failed"
    assert wrong.received == []


def test_the_page_tells_outcomes_in_words_never_an_exception(client, owner, loopback_receivers_allowed):
    closed = free_port()  # allowed, and nothing listens there
    delivery = delivery_to(owner, f"http://127.0.0.1:{closed}/hook")
    with pytest.raises(DeliveryFailed):  # raised for RQ's Retry; this was the last attempt
        deliver(delivery.pk)
    delivery.refresh_from_db()
    assert (delivery.status, delivery.outcome, delivery.error) == ("failed", "unreachable", "the connection was refused")

    client.force_login(owner)
    content = client.get(f"/webhooks/services/{owner.service.name}/").content.decode()
    assert "Unreachable: the connection was refused" in content
    for raw in ("Errno", "Error(", "NewConnectionError", "HTTPConnection", "object at 0x"):
        assert raw not in content


@pytest.mark.django_db(transaction=True)
def test_deliveries_recorded_before_outcomes_lose_their_raw_error_text():
    """Rows from before this change kept an exception's text (what answered at an address); the
    migration gives each the outcome its fields imply and keeps only words."""
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    before = [("notifications", "0001_initial")]
    executor = MigrationExecutor(connection)
    executor.migrate(before)
    old = executor.loader.project_state(before).apps
    OldWebhook, OldDelivery = old.get_model("notifications", "Webhook"), old.get_model("notifications", "Delivery")
    hook = OldWebhook.objects.create(url="http://10.0.0.5:6379/", events=["applied"], secret="whsec_x")
    rows = {
        "delivered": dict(status="delivered", attempts=1, response_code=200),
        "refused": dict(status="failed", attempts=5, response_code=503, error="HTTP 503 Service Unavailable"),
        "redirected": dict(status="failed", attempts=1, response_code=302, error="HTTP 302: redirects are not followed (http://x/)"),
        "unreachable": dict(status="failed", attempts=5, error="ConnectionRefusedError: [Errno 111] Connection refused"),
        "waiting": dict(status="pending", attempts=0),
    }
    ids = {name: OldDelivery.objects.create(webhook=hook, event="applied", payload={}, **fields).pk for name, fields in rows.items()}

    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes())

    upgraded = {name: Delivery.objects.get(pk=pk) for name, pk in ids.items()}
    assert {name: (d.outcome, d.error) for name, d in upgraded.items()} == {
        "delivered": ("delivered", ""),
        "refused": ("receiver_refused", ""),
        "redirected": ("receiver_refused", "redirects are not followed"),
        "unreachable": ("unreachable", ""),
        "waiting": ("", ""),
    }
    assert upgraded["unreachable"].outcome_text == "Unreachable"
