"""manage.py refresh_prices against a real HTTP server on loopback that serves the AWS Price List Bulk
API's files as AWS lays them out (offer index -> region index -> region file), each small and in the
published format, with decoys beside every price the table takes: Windows, Dedicated, Dedicated Host,
reserved-capacity and SQL Server instances, a reserved term, gp2 and a Local Zone's gp3, a regional NAT
gateway, a Network Load Balancer and a trust store, an idle address, Infrequent Access logs and
storage, S3's other tiers. Nothing but the test's own thread is started."""

import json
import threading
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from portal.costs import refresh
from portal.costs.refresh import RefreshError

REGION = "eu-west-1"
PUBLISHED = "2026-11-28T19:22:04Z"
VERSION = "20261128192204"


def product(sku: str, family: str | None, **attributes) -> dict:
    entry = {"sku": sku, "attributes": {"regionCode": REGION, "locationType": "AWS Region", **attributes}}
    if family is not None:  # AmazonVPC's public IPv4 products may come without one
        entry["productFamily"] = family
    return entry


def on_demand(sku: str, unit: str, *tiers: tuple[str, str, str]) -> dict:
    """The OnDemand term of `sku`: tiers of (beginRange, endRange, USD)."""
    dimensions = {
        f"{sku}.JRTCKXETXF.RATE{number}": {
            "rateCode": f"{sku}.JRTCKXETXF.RATE{number}",
            "description": f"${usd} per {unit}",
            "beginRange": begin,
            "endRange": end,
            "unit": unit,
            "pricePerUnit": {"USD": usd},
            "appliesTo": [],
        }
        for number, (begin, end, usd) in enumerate(tiers)
    }
    term = {"offerTermCode": "JRTCKXETXF", "sku": sku, "effectiveDate": "2026-11-01T00:00:00Z", "priceDimensions": dimensions, "termAttributes": {}}
    return {f"{sku}.JRTCKXETXF": term}


def flat(usd: str) -> tuple[str, str, str]:
    return ("0", "Inf", usd)


def offer(code: str, priced: list[tuple[dict, dict]], reserved: dict | None = None) -> dict:
    return {
        "formatVersion": "v1.0",
        "disclaimer": "This pricing list is for informational purposes only.",
        "offerCode": code,
        "version": VERSION,
        "publicationDate": PUBLISHED,
        "products": {entry["sku"]: entry for entry, _ in priced},
        "terms": {"OnDemand": {entry["sku"]: term for entry, term in priced}, "Reserved": reserved or {}},
        "attributesList": {},
    }


def instance(sku: str, instance_type: str, usd: str, **differences) -> tuple[dict, dict]:
    attributes = {
        "instanceType": instance_type,
        "operatingSystem": "Linux",
        "tenancy": "Shared",
        "preInstalledSw": "NA",
        "capacitystatus": "Used",
        "licenseModel": "No License required",
        "marketoption": "OnDemand",
        "operation": "RunInstances",
        "usagetype": f"EU-BoxUsage:{instance_type}",
        **differences,
    }
    return product(sku, "Compute Instance", **attributes), on_demand(sku, "Hrs", flat(usd))


def offers() -> dict[str, dict]:
    reserved_t3_micro = {
        "EC2T3MICRO": {
            "EC2T3MICRO.4NA7Y494T4": {
                "offerTermCode": "4NA7Y494T4",
                "sku": "EC2T3MICRO",
                "priceDimensions": {
                    "EC2T3MICRO.4NA7Y494T4.6YS6EN2CT7": {"unit": "Hrs", "beginRange": "0", "endRange": "Inf", "pricePerUnit": {"USD": "0.0071000000"}}
                },
                "termAttributes": {"LeaseContractLength": "1yr", "OfferingClass": "standard", "PurchaseOption": "No Upfront"},
            }
        }
    }
    return {
        "AmazonEC2": offer(
            "AmazonEC2",
            [
                instance("EC2T3MICRO", "t3.micro", "0.0114000000"),
                instance("EC2M5LARGE", "m5.large", "0.1070000000"),
                instance("EC2T4GSMALL", "t4g.small", "0.0184000000"),
                instance("EC2T3MICROWIN", "t3.micro", "0.0206000000", operatingSystem="Windows", operation="RunInstances:0002"),
                instance("EC2T3MICRODED", "t3.micro", "0.0125000000", tenancy="Dedicated", usagetype="EU-DedicatedUsage:t3.micro"),
                instance("EC2T3MICROCR", "t3.micro", "0.0999000000", capacitystatus="UnusedCapacityReservation", usagetype="EU-UnusedBox:t3.micro"),
                instance("EC2T3MICROALLOC", "t3.micro", "0.0998000000", capacitystatus="AllocatedCapacityReservation"),
                instance("EC2T3MICROSQL", "t3.micro", "0.0800000000", preInstalledSw="SQL Web", operation="RunInstances:0200"),
                instance("EC2T3MICROHOST", "t3.micro", "0.0130000000", usagetype="EU-HostBoxUsage:t3.micro"),
                (
                    product("EBSGP3", "Storage", volumeApiName="gp3", volumeType="General Purpose", usagetype="EU-EBS:VolumeUsage.gp3"),
                    on_demand("EBSGP3", "GB-Mo", flat("0.0880000000")),
                ),
                (
                    # A Local Zone's volumes are in its parent region's file.
                    product(
                        "EBSGP3LZ",
                        "Storage",
                        volumeApiName="gp3",
                        volumeType="General Purpose",
                        regionCode="eu-west-1-lz-1",
                        locationType="AWS Local Zone",
                        usagetype="EUW1-LZ1-EBS:VolumeUsage.gp3",
                    ),
                    on_demand("EBSGP3LZ", "GB-Mo", flat("0.1056000000")),
                ),
                (
                    product("EBSGP2", "Storage", volumeApiName="gp2", volumeType="General Purpose", usagetype="EU-EBS:VolumeUsage.gp2"),
                    on_demand("EBSGP2", "GB-Mo", flat("0.1100000000")),
                ),
                (
                    product("NATHOURS", "NAT Gateway", group="NGW:NatGateway", operation="NatGateway", usagetype="EU-NatGateway-Hours"),
                    on_demand("NATHOURS", "Hrs", flat("0.0480000000")),
                ),
                (
                    product("NATBYTES", "NAT Gateway", group="NGW:NatGateway", operation="NatGateway", usagetype="EU-NatGateway-Bytes"),
                    on_demand("NATBYTES", "GB", flat("0.0450000000")),
                ),
                (
                    product("NATREGIONAL", "NAT Gateway", operation="NatGateway", usagetype="EU-RegionalNatGateway-Hours"),
                    on_demand("NATREGIONAL", "Hrs", flat("0.0510000000")),
                ),
            ],
            reserved=reserved_t3_micro,
        ),
        "AWSELB": offer(
            "AWSELB",
            [
                (
                    product("ALBHOURS", "Load Balancer-Application", group="ELB:Balancer", usagetype="EU-LoadBalancerUsage"),
                    on_demand("ALBHOURS", "Hrs", flat("0.0252000000")),
                ),
                (
                    product("ALBLCU", "Load Balancer-Application", group="ELB:Balancer-LCU", usagetype="EU-LCUUsage"),
                    on_demand("ALBLCU", "LCU-Hrs", flat("0.0080000000")),
                ),
                (
                    product("NLBHOURS", "Load Balancer-Network", usagetype="EU-LoadBalancerUsage"),
                    on_demand("NLBHOURS", "Hrs", flat("0.0253000000")),
                ),
                (
                    product("ALBTRUST", "Load Balancer-Application", usagetype="EU-TS-LoadBalancerUsage"),
                    on_demand("ALBTRUST", "Hrs", flat("0.0055000000")),
                ),
            ],
        ),
        "AmazonVPC": offer(
            "AmazonVPC",
            [
                (
                    product("IPV4INUSE", None, group="VPCPublicIPv4Address", usagetype="EU-PublicIPv4:InUseAddress"),
                    on_demand("IPV4INUSE", "Hrs", flat("0.0050000000")),
                ),
                (
                    product("IPV4IDLE", None, group="VPCPublicIPv4Address", usagetype="EU-PublicIPv4:IdleAddress"),
                    on_demand("IPV4IDLE", "Hrs", flat("0.0051000000")),
                ),
            ],
        ),
        "AmazonCloudWatch": offer(
            "AmazonCloudWatch",
            [
                (
                    product("LOGSIN", "Data Payload", usagetype="EU-DataProcessing-Bytes"),
                    on_demand("LOGSIN", "GB", flat("0.5700000000")),
                ),
                (
                    product("LOGSINIA", "Data Payload", usagetype="EU-DataProcessingIA-Bytes"),
                    on_demand("LOGSINIA", "GB", flat("0.2850000000")),
                ),
                (
                    product("LOGSSTORED", "Storage Snapshot", usagetype="EU-TimedStorage-ByteHrs"),
                    on_demand("LOGSSTORED", "GB-Mo", flat("0.0300000000")),
                ),
            ],
        ),
        "AmazonECR": offer(
            "AmazonECR",
            [
                (
                    product("ECRSTORED", "EC2 Container Registry", usagetype="EU-TimedStorage-ByteHrs"),
                    on_demand("ECRSTORED", "GB-Mo", flat("0.1000000000")),
                ),
            ],
        ),
        "AmazonS3": offer(
            "AmazonS3",
            [
                (
                    product("S3STANDARD", "Storage", storageClass="General Purpose", volumeType="Standard", usagetype="EU-TimedStorage-ByteHrs"),
                    on_demand("S3STANDARD", "GB-Mo", ("512000", "Inf", "0.0210000000"), ("0", "51200", "0.0230000000"), ("51200", "512000", "0.0220000000")),
                ),
                (
                    product(
                        "S3IA",
                        "Storage",
                        storageClass="Infrequent Access",
                        volumeType="Standard - Infrequent Access",
                        usagetype="EU-TimedStorage-SIA-ByteHrs",
                    ),
                    on_demand("S3IA", "GB-Mo", flat("0.0125000000")),
                ),
            ],
        ),
    }


EXPECTED_PRICES = {
    "ec2_instance_hour": {"m5.large": 0.107, "t3.micro": 0.0114, "t4g.small": 0.0184},
    "ebs_gp3_gb_month": 0.088,
    "alb_hour": 0.0252,
    "alb_lcu_hour": 0.008,
    "nat_gateway_hour": 0.048,
    "nat_gateway_gb": 0.045,
    "public_ipv4_hour": 0.005,
    "logs_ingested_gb": 0.57,
    "logs_stored_gb_month": 0.03,
    "ecr_stored_gb_month": 0.1,
    "s3_standard_gb_month": 0.023,
}


class PriceList:
    """What the server serves, read at each request, so a test may change it first; and what was asked."""

    def __init__(self):
        self.offers = offers()
        self.requests: list[str] = []
        self.url = ""
        # code -> a function of the file's bytes giving (what is sent, the Content-Length announced)
        self.cut: dict = {}
        # path -> the bytes served there instead
        self.raw: dict[str, bytes] = {}

    def document(self, path: str) -> dict | None:
        if path == "/offers/v1.0/aws/index.json":
            return {
                "formatVersion": "v1.0",
                "publicationDate": PUBLISHED,
                "offers": {
                    code: {
                        "offerCode": code,
                        "versionIndexUrl": f"/offers/v1.0/aws/{code}/index.json",
                        "currentVersionUrl": f"/offers/v1.0/aws/{code}/current/index.json",
                        "currentRegionIndexUrl": f"/offers/v1.0/aws/{code}/current/region_index.json",
                    }
                    for code in self.offers
                },
            }
        for code, document in self.offers.items():
            if path == f"/offers/v1.0/aws/{code}/current/region_index.json":
                return {
                    "formatVersion": "v1.0",
                    "publicationDate": PUBLISHED,
                    "regions": {
                        region: {"regionCode": region, "currentVersionUrl": f"/offers/v1.0/aws/{code}/{VERSION}/{region}/index.json"}
                        for region in (REGION, "us-east-1")
                    },
                }
            if path == f"/offers/v1.0/aws/{code}/{VERSION}/{REGION}/index.json":
                return document
        return None


@pytest.fixture
def price_list():
    served = PriceList()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            served.requests.append(self.path)
            document = served.document(self.path)
            body = json.dumps(document, indent=2).encode() if document is not None else b"Not Found"
            body = served.raw.get(self.path, body)
            length = len(body)
            cut = served.cut.get(document.get("offerCode") if document and "products" in document else None)
            if cut:
                body, length = cut(body)
            self.send_response(200 if document is not None else 404)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(length))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    # A short poll interval: shutdown() waits for the loop to look up.
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    served.url = f"http://127.0.0.1:{server.server_address[1]}"
    yield served
    server.shutdown()
    server.server_close()
    thread.join()


@pytest.fixture
def old_table(tmp_path) -> Path:
    path = tmp_path / f"{REGION}.json"
    path.write_bytes((refresh.PRICES_DIR / f"{REGION}.json").read_bytes())
    return path


def assert_untouched(path: Path, before: bytes) -> None:
    assert path.read_bytes() == before
    assert [entry.name for entry in path.parent.iterdir()] == [path.name], "a temporary file was left behind"


def test_the_table_has_exactly_the_prices_of_the_served_files_and_none_of_the_decoys(price_list, old_table):
    path, table = refresh.refresh(REGION, price_list.url, old_table)

    written = json.loads(path.read_text())
    assert written == table
    assert list(written) == ["region", "currency", "as_of", "source", "prices"]
    assert written["prices"] == EXPECTED_PRICES
    assert list(written["prices"]) == list(refresh.PRICE_KEYS)
    assert (written["region"], written["currency"], written["as_of"]) == (REGION, "USD", datetime.now(UTC).date().isoformat())
    for code in price_list.offers:
        assert f"{code} {price_list.url}/offers/v1.0/aws/{code}/{VERSION}/{REGION}/index.json (publicationDate {PUBLISHED})" in written["source"]
    assert f"{price_list.url}/offers/v1.0/aws/index.json" in written["source"]


def test_the_new_table_is_read_as_the_estimate_reads_the_shipped_one(price_list, old_table):
    shipped = json.loads(old_table.read_text())
    _, table = refresh.refresh(REGION, price_list.url, old_table)
    assert set(table) == set(shipped)
    assert set(table["prices"]) == set(shipped["prices"])


def test_an_offer_missing_from_the_index_is_refused_and_the_old_table_kept(price_list, old_table):
    before = old_table.read_bytes()
    del price_list.offers["AmazonCloudWatch"]
    with pytest.raises(RefreshError, match="lists no AmazonCloudWatch offer"):
        refresh.refresh(REGION, price_list.url, old_table)
    assert_untouched(old_table, before)


def test_a_price_missing_from_an_offer_is_refused_naming_it_and_the_old_table_kept(price_list, old_table):
    before = old_table.read_bytes()
    elb = price_list.offers["AWSELB"]
    del elb["products"]["ALBLCU"], elb["terms"]["OnDemand"]["ALBLCU"]
    with pytest.raises(RefreshError, match=r"gives no price for: alb_lcu_hour \(productFamily 'Load Balancer-Application', usagetype <region>-LCUUsage\)"):
        refresh.refresh(REGION, price_list.url, old_table)
    assert_untouched(old_table, before)


def test_no_linux_instance_at_all_is_a_missing_price(price_list, old_table):
    before = old_table.read_bytes()
    ec2 = price_list.offers["AmazonEC2"]
    for sku in ("EC2T3MICRO", "EC2M5LARGE", "EC2T4GSMALL"):
        del ec2["products"][sku], ec2["terms"]["OnDemand"][sku]
    with pytest.raises(RefreshError, match="gives no price for: ec2_instance_hour"):
        refresh.refresh(REGION, price_list.url, old_table)
    assert_untouched(old_table, before)


def test_two_candidates_at_different_prices_are_refused_rather_than_one_picked(price_list, old_table):
    before = old_table.read_bytes()
    ecr = price_list.offers["AmazonECR"]
    ecr["products"]["ECRSTORED2"] = product("ECRSTORED2", "EC2 Container Registry", usagetype="EU-TimedStorage-ByteHrs")
    ecr["terms"]["OnDemand"]["ECRSTORED2"] = on_demand("ECRSTORED2", "GB-Mo", flat("0.2000000000"))
    with pytest.raises(RefreshError, match=r"ecr_stored_gb_month .* differ in price: 0.1000000000 \(ECRSTORED\), 0.2000000000 \(ECRSTORED2\)"):
        refresh.refresh(REGION, price_list.url, old_table)
    assert_untouched(old_table, before)


def test_a_free_allowance_at_nothing_is_not_taken_for_the_list_price(price_list, old_table):
    vpc = price_list.offers["AmazonVPC"]
    vpc["products"]["IPV4FREE"] = product("IPV4FREE", None, group="VPCPublicIPv4Address", usagetype="EU-PublicIPv4:InUseAddress")
    vpc["terms"]["OnDemand"]["IPV4FREE"] = on_demand("IPV4FREE", "Hrs", flat("0.0000000000"))
    _, table = refresh.refresh(REGION, price_list.url, old_table)
    assert table["prices"]["public_ipv4_hour"] == 0.005


def test_a_price_in_another_unit_than_the_table_is_refused(price_list, old_table):
    before = old_table.read_bytes()
    price_list.offers["AmazonECR"]["terms"]["OnDemand"]["ECRSTORED"] = on_demand("ECRSTORED", "GB-Hrs", flat("0.0001369863"))
    with pytest.raises(RefreshError, match="ECRSTORED is priced per 'GB-Hrs', not per 'GB-Mo'"):
        refresh.refresh(REGION, price_list.url, old_table)
    assert_untouched(old_table, before)


def test_the_reserved_terms_after_the_on_demand_ones_are_not_read(price_list, old_table):
    """They are most of the EC2 file's hundreds of MB: here the file ends in the middle of them."""

    def in_the_reserved_terms(body: bytes) -> tuple[bytes, int]:
        end = body.index(b'"Reserved"') + 40
        return body[:end], end

    price_list.cut["AmazonEC2"] = in_the_reserved_terms
    _, table = refresh.refresh(REGION, price_list.url, old_table)
    assert table["prices"] == EXPECTED_PRICES


def test_a_download_that_breaks_off_is_refused(price_list, old_table):
    before = old_table.read_bytes()

    def half_sent(body: bytes) -> tuple[bytes, int]:
        return body[: len(body) // 2], len(body)

    price_list.cut["AmazonS3"] = half_sent
    with pytest.raises(RefreshError, match=r"The download of .*/AmazonS3/.* broke off"):
        refresh.refresh(REGION, price_list.url, old_table)
    assert_untouched(old_table, before)


def test_a_region_aws_lists_no_file_for_is_refused(price_list, tmp_path):
    with pytest.raises(RefreshError, match="AWSELB's region index .* lists no file for ap-south-2"):
        refresh.refresh("ap-south-2", price_list.url, tmp_path / "ap-south-2.json")
    assert list(tmp_path.iterdir()) == []


def test_an_index_that_is_not_json_is_refused(price_list, old_table):
    before = old_table.read_bytes()
    price_list.raw["/offers/v1.0/aws/index.json"] = b"<html>Service Unavailable</html>"
    with pytest.raises(RefreshError, match=r"/offers/v1\.0/aws/index\.json is not JSON"):
        refresh.refresh(REGION, price_list.url, old_table)
    assert_untouched(old_table, before)


def test_a_file_that_is_not_a_price_list_is_refused(price_list, old_table):
    before = old_table.read_bytes()
    price_list.offers["AmazonS3"] = {"offerCode": "AmazonS3", "products": {}}
    with pytest.raises(RefreshError, match="has no terms.OnDemand: not a price list file"):
        refresh.refresh(REGION, price_list.url, old_table)
    assert_untouched(old_table, before)


@pytest.mark.parametrize("region", ["EU-WEST-1", "eu-west-1/../../x", "eu-west-1; rm -rf /", "", "eu west 1"])
def test_a_bad_region_is_refused_before_any_request(price_list, old_table, region):
    before = old_table.read_bytes()
    with pytest.raises(RefreshError, match="is not an AWS region code. Give one such as eu-west-1"):
        refresh.refresh(region, price_list.url, old_table)
    with pytest.raises(CommandError, match="is not an AWS region code.*Nothing was fetched or written"):
        call_command("refresh_prices", region=region, endpoint=price_list.url)
    assert price_list.requests == []
    assert_untouched(old_table, before)


def test_the_command_writes_the_table(price_list, old_table, capsys):
    call_command("refresh_prices", region=REGION, endpoint=price_list.url, output=str(old_table))
    assert json.loads(old_table.read_text())["prices"] == EXPECTED_PRICES
    assert f"Wrote {old_table}: 3 instance types and 10 other prices for {REGION}" in capsys.readouterr().out


def test_the_command_says_the_old_table_is_kept_when_an_offer_is_bad(price_list, old_table):
    before = old_table.read_bytes()
    price_list.offers["AmazonVPC"]["offerCode"] = "AmazonEC2"
    with pytest.raises(CommandError, match=rf"is the offer 'AmazonEC2', not AmazonVPC\. The table at {old_table} is kept as it was"):
        call_command("refresh_prices", region=REGION, endpoint=price_list.url, output=str(old_table))
    assert_untouched(old_table, before)


def test_the_command_says_the_old_table_is_kept_when_the_network_fails(price_list, old_table):
    before = old_table.read_bytes()
    with pytest.raises(CommandError, match=rf"Could not fetch http://127\.0\.0\.1:9/offers/v1\.0/aws/index\.json.*The table at {old_table} is kept"):
        call_command("refresh_prices", region=REGION, endpoint="http://127.0.0.1:9", output=str(old_table))
    assert_untouched(old_table, before)


def test_the_default_table_is_the_regions_file_beside_the_shipped_ones():
    assert refresh.default_output(REGION) == refresh.PRICES_DIR / f"{REGION}.json"
    assert (refresh.PRICES_DIR / f"{REGION}.json").exists()
