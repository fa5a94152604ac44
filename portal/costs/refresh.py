"""A region's price table (prices/<region>.json) rebuilt from the AWS Price List Bulk API's files.

The files are found as AWS documents them: the service index
(https://pricing.us-east-1.amazonaws.com/offers/v1.0/aws/index.json, see
https://docs.aws.amazon.com/awsaccountbilling/latest/aboutv2/using-the-aws-price-list-bulk-api-fetching-price-list-files-manually.html)
names each offer's `currentRegionIndexUrl`
(https://docs.aws.amazon.com/awsaccountbilling/latest/aboutv2/reading-the-offer-index.html); that region
index names each region's `currentVersionUrl`, relative to the same host
(https://docs.aws.amazon.com/awsaccountbilling/latest/aboutv2/service-region-infex-file-for-service.html);
that file holds `products` (sku, productFamily, attributes) and `terms.OnDemand` (sku -> term ->
priceDimensions -> unit, pricePerUnit.USD, beginRange)
(https://docs.aws.amazon.com/awsaccountbilling/latest/aboutv2/reading-service-price-list-file-for-services.html;
the page calls the range fields startingRange/endingRange, the published files beginRange/endRange).

A table is written whole or not at all: a missing offer, a missing price, two candidates at different
prices, an unexpected unit or a broken download raise RefreshError, and the file on disk stays as it
was.
"""

import json
import os
import re
import tempfile
from collections.abc import Callable, Hashable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import ijson
import requests
from ijson.common import ObjectBuilder

from portal.costs.estimate import PRICES_DIR

DEFAULT_ENDPOINT = "https://pricing.us-east-1.amazonaws.com"
OFFER_INDEX_PATH = "/offers/v1.0/aws/index.json"
# As settings.AWS_REGION accepts; checked before the region becomes part of a URL or a file name.
REGION = re.compile(r"[a-z]{2}(-[a-z]+)+-[0-9]+")
# (connect, read): the read timeout is per chunk, so a download of hundreds of MB is not cut short.
TIMEOUT = (10, 60)

# The table's keys, in the order the hand-written tables list them.
PRICE_KEYS = (
    "ec2_instance_hour",
    "ebs_gp3_gb_month",
    "alb_hour",
    "alb_lcu_hour",
    "nat_gateway_hour",
    "nat_gateway_gb",
    "public_ipv4_hour",
    "logs_ingested_gb",
    "logs_stored_gb_month",
    "ecr_stored_gb_month",
    "s3_standard_gb_month",
)


class RefreshError(Exception):
    """The table could not be built; nothing was written."""


@dataclass(frozen=True)
class Charge:
    """One price of the table, as it is published in an offer file."""

    key: str
    # The usagetype without its region prefix; None when the attributes alone pick the product.
    usage: str | None
    unit: str
    family: str | None = None
    attributes: dict[str, str] = field(default_factory=dict)

    def matches(self, product: dict, region: str) -> bool:
        attributes = product.get("attributes") or {}
        return (
            in_region(attributes, region)
            and (self.family is None or product.get("productFamily") == self.family)
            and all(attributes.get(name) == value for name, value in self.attributes.items())
            and (self.usage is None or usage_is(attributes.get("usagetype", ""), self.usage))
        )

    def describe(self) -> str:
        said = [f"productFamily {self.family!r}"] if self.family else []
        said += [f"{name} {value!r}" for name, value in self.attributes.items()]
        said += [f"usagetype <region>-{self.usage}"] if self.usage else []
        return ", ".join(said)


# Its usagetype, <region>-BoxUsage:<instanceType>, is checked by instance_type().
INSTANCES = Charge(
    "ec2_instance_hour",
    None,
    "Hrs",
    family="Compute Instance",
    attributes={
        "operatingSystem": "Linux",
        "tenancy": "Shared",
        "preInstalledSw": "NA",
        "capacitystatus": "Used",
        "licenseModel": "No License required",
    },
)

# The small offers first: one that fails stops the refresh before the EC2 file (hundreds of MB) is read.
OFFERS: dict[str, tuple[Charge, ...]] = {
    "AWSELB": (
        Charge("alb_hour", "LoadBalancerUsage", "Hrs", family="Load Balancer-Application"),
        Charge("alb_lcu_hour", "LCUUsage", "LCU-Hrs", family="Load Balancer-Application"),
    ),
    # Public IPv4 addresses are billed by VPC, not EC2, since February 2024.
    "AmazonVPC": (Charge("public_ipv4_hour", "PublicIPv4:InUseAddress", "Hrs"),),
    "AmazonCloudWatch": (
        Charge("logs_ingested_gb", "DataProcessing-Bytes", "GB"),
        Charge("logs_stored_gb_month", "TimedStorage-ByteHrs", "GB-Mo"),
    ),
    "AmazonECR": (Charge("ecr_stored_gb_month", "TimedStorage-ByteHrs", "GB-Mo"),),
    "AmazonS3": (Charge("s3_standard_gb_month", "TimedStorage-ByteHrs", "GB-Mo", attributes={"storageClass": "General Purpose", "volumeType": "Standard"}),),
    "AmazonEC2": (
        INSTANCES,
        Charge("ebs_gp3_gb_month", None, "GB-Mo", family="Storage", attributes={"volumeApiName": "gp3"}),
        Charge("nat_gateway_hour", "NatGateway-Hours", "Hrs", family="NAT Gateway"),
        Charge("nat_gateway_gb", "NatGateway-Bytes", "GB", family="NAT Gateway"),
    ),
}

# A usagetype is "<prefix>-<usage>", the prefix a code of the region ("EU", "USE1") that us-east-1 often
# leaves out. Exactly one such token may precede the usage: a plain suffix match would also take
# "EU-TS-LoadBalancerUsage", "EU-RegionalNatGateway-Hours" or a Local Zone's "USE1-BOS1-BoxUsage:...".
_PREFIX = r"(?:[A-Z0-9]+-)?"


def usage_is(usagetype: str, usage: str) -> bool:
    return re.fullmatch(_PREFIX + re.escape(usage), usagetype) is not None


def in_region(attributes: dict, region: str) -> bool:
    # A region's file can also list its Local Zones, under a regionCode and a locationType of their own.
    return attributes.get("regionCode", region) == region and attributes.get("locationType", "AWS Region") == "AWS Region"


def instance_type(product: dict, region: str) -> str | None:
    """The instance type of an on-demand Linux instance of the region's own, else None."""
    attributes = product.get("attributes") or {}
    name = attributes.get("instanceType", "")
    chosen = (
        name
        and INSTANCES.matches(product, region)
        # The same type on a Dedicated Host or in a Local Zone bills under another usagetype.
        and usage_is(attributes.get("usagetype", ""), f"BoxUsage:{name}")
        and attributes.get("marketoption", "OnDemand") == "OnDemand"
    )
    return name if chosen else None


def check_region(region: str) -> None:
    if not REGION.fullmatch(region):
        raise RefreshError(f"{region!r} is not an AWS region code. Give one such as eu-west-1.")


def default_output(region: str) -> Path:
    check_region(region)
    return PRICES_DIR / f"{region}.json"


def refresh(region: str, endpoint: str = DEFAULT_ENDPOINT, output: Path | None = None) -> tuple[Path, dict]:
    """Builds the region's table from AWS's current files and writes it over `output`."""
    check_region(region)
    output = Path(output) if output is not None else default_output(region)
    table = fetch_table(region, endpoint)
    write_table(table, output)
    return output, table


def fetch_table(region: str, endpoint: str = DEFAULT_ENDPOINT) -> dict:
    check_region(region)
    parts = urlsplit(endpoint)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise RefreshError(f"{endpoint!r} is not an http(s) URL. Give one such as {DEFAULT_ENDPOINT}.")
    with requests.Session() as session:
        index_url = urljoin(endpoint, OFFER_INDEX_PATH)
        offers = _mapping(_get_json(session, index_url).get("offers", {}), f"{index_url}'s offers")
        prices: dict = {}
        sources = [f"the offer index {index_url}"]
        for code, charges in OFFERS.items():
            url = _offer_url(session, endpoint, index_url, offers, code, region)
            with _get(session, url) as response:
                meta, found = read_offer(_Body(response, url), region, charges, url)
            if meta.get("offerCode") != code:
                raise RefreshError(f"{url} is the offer {meta.get('offerCode')!r}, not {code}.")
            missing = [charge for charge in charges if not found.get(charge.key)]
            if missing:
                said = "; ".join(f"{charge.key} ({charge.describe()})" for charge in missing)
                raise RefreshError(f"{code}'s file for {region} ({url}) gives no price for: {said}.")
            prices.update(found)
            sources.append(f"{code} {url} (publicationDate {meta.get('publicationDate', 'not given')})")
    missing_keys = [key for key in PRICE_KEYS if not prices.get(key)]
    if missing_keys:
        raise RefreshError(f"AWS's files give no price for: {', '.join(missing_keys)}.")
    return {
        "region": region,
        "currency": "USD",
        "as_of": datetime.now(UTC).date().isoformat(),
        "source": (
            "AWS on-demand list prices in USD (EC2: Linux, shared tenancy, no pre-installed software), read by "
            "`manage.py refresh_prices` from the AWS Price List Bulk API: " + "; ".join(sources) + "."
        ),
        "prices": {key: prices[key] for key in PRICE_KEYS},
    }


def read_offer(stream, region: str, charges: tuple[Charge, ...], url: str = "the offer file") -> tuple[dict, dict]:
    """The file's metadata, and each charge's price (the instance charge: a price per instance type)."""

    by_key = {charge.key: charge for charge in charges}

    def select(product: dict) -> tuple[str, str | None] | None:
        for charge in charges:
            if charge is INSTANCES:
                name = instance_type(product, region)
                if name:
                    return (charge.key, name)
            elif charge.matches(product, region):
                return (charge.key, None)
        return None

    meta, chosen, terms = scan_offer(stream, select, url)
    candidates: dict[tuple[str, str | None], dict[Decimal, list[str]]] = {}
    for sku, label in chosen.items():
        price = on_demand_price(terms.get(sku), by_key[label[0]].unit, sku, url)
        # A free allowance published as a product or tier of its own is not the list price.
        if price is not None and price > 0:
            candidates.setdefault(label, {}).setdefault(price, []).append(sku)
    found: dict = {}
    for (key, name), by_price in candidates.items():
        if len(by_price) > 1:
            said = ", ".join(f"{price} ({' '.join(sorted(skus))})" for price, skus in sorted(by_price.items()))
            what = f"{key} {name}" if name else key
            raise RefreshError(f"{url}: the products that match {what} ({by_key[key].describe()}) differ in price: {said}.")
        (price,) = by_price
        if name:
            found.setdefault(key, {})[name] = float(price)
        else:
            found[key] = float(price)
    if INSTANCES.key in found:
        found[INSTANCES.key] = dict(sorted(found[INSTANCES.key].items()))
    return meta, found


def on_demand_price(terms: dict | None, unit: str, sku: str, url: str) -> Decimal | None:
    """The USD price of a product's on-demand term: its one dimension, or of tiers the first (beginRange 0)."""
    if not terms:
        return None
    dimensions = [dimension for term in terms.values() for dimension in (term.get("priceDimensions") or {}).values()]
    if len(dimensions) > 1:
        dimensions = [dimension for dimension in dimensions if str(dimension.get("beginRange")) == "0"]
    if len(dimensions) != 1:
        raise RefreshError(f"{url}: sku {sku} has {len(dimensions)} on-demand prices starting at 0, not one.")
    (dimension,) = dimensions
    if dimension.get("unit") != unit:
        raise RefreshError(f"{url}: sku {sku} is priced per {dimension.get('unit')!r}, not per {unit!r} as the table is.")
    try:
        return Decimal(str((dimension.get("pricePerUnit") or {})["USD"]))
    except (KeyError, InvalidOperation):
        raise RefreshError(f"{url}: sku {sku} has no USD price.") from None


_SECTIONS = ("products", "terms.OnDemand")
_META = ("formatVersion", "offerCode", "version", "publicationDate")


def scan_offer(stream, select: Callable[[dict], Hashable | None], url: str = "the offer file") -> tuple[dict, dict, dict]:
    """One streaming pass over an offer file: its metadata, {sku: label} of the products `select` labels,
    and those products' on-demand terms. The Reserved terms after them, most of the EC2 file's bytes,
    are never read."""
    meta: dict = {}
    chosen: dict = {}
    terms: dict = {}
    read: set[str] = set()
    pending = current = None
    depth = 0
    try:
        for prefix, event, value in ijson.parse(stream):
            if current is not None:
                section, sku, builder = current
                if builder is not None:
                    builder.event(event, value)
                if event in ("start_map", "start_array"):
                    depth += 1
                elif event in ("end_map", "end_array"):
                    depth -= 1
                if depth == 0:
                    if section == "products":
                        label = select(builder.value)
                        if label is not None:
                            chosen[sku] = label
                    elif builder is not None:
                        terms[sku] = builder.value
                    current = None
            elif pending is not None:
                if event != "start_map":
                    raise RefreshError(f"{url}: {pending[0]}.{pending[1]} is not an object, as in a price list file.")
                section, sku = pending
                # AWS writes the products first, so a term is built only for a chosen product; were the
                # terms first, every sku's would be kept until the products are read.
                builder = ObjectBuilder() if section == "products" or "products" not in read or sku in chosen else None
                if builder is not None:
                    builder.event(event, value)
                current, pending, depth = (section, sku, builder), None, 1
            elif prefix in _SECTIONS and event == "map_key":
                pending = (prefix, value)
            elif prefix in _SECTIONS and event == "end_map":
                read.add(prefix)
                if read.issuperset(_SECTIONS):
                    break
            elif prefix in _META and event == "string":
                meta[prefix] = value
    except ijson.JSONError as exc:
        raise RefreshError(f"{url} is not a whole JSON price list file ({exc}).") from None
    unread = [section for section in _SECTIONS if section not in read]
    if unread:
        raise RefreshError(f"{url} has no {' and no '.join(unread)}: not a price list file.")
    return meta, chosen, {sku: value for sku, value in terms.items() if sku in chosen}


def write_table(table: dict, output: Path) -> None:
    """Replaces `output` in one step: a reader sees the old table or the new one, never half of one."""
    text = json.dumps(table, indent=2) + "\n"
    try:
        with tempfile.NamedTemporaryFile("w", dir=output.parent, prefix=f".{output.name}.", suffix=".tmp", delete=False) as temporary:
            temporary.write(text)
            temporary.flush()
            os.fsync(temporary.fileno())
    except OSError as exc:
        raise RefreshError(f"Could not write beside {output}: {exc}.") from None
    try:
        # NamedTemporaryFile makes the file 0600; the table is read by the web's processes too.
        os.chmod(temporary.name, 0o644)
        os.replace(temporary.name, output)
    except OSError as exc:
        Path(temporary.name).unlink(missing_ok=True)
        raise RefreshError(f"Could not replace {output}: {exc}.") from None


def _offer_url(session: requests.Session, endpoint: str, index_url: str, offers: dict, code: str, region: str) -> str:
    region_index = _mapping(offers.get(code, {}), f"{index_url}'s offer {code}").get("currentRegionIndexUrl")
    if not region_index:
        raise RefreshError(f"The offer index {index_url} lists no {code} offer (its currentRegionIndexUrl).")
    region_index_url = urljoin(endpoint, region_index)
    regions = _mapping(_get_json(session, region_index_url).get("regions", {}), f"{region_index_url}'s regions")
    version = _mapping(regions.get(region, {}), f"{region_index_url}'s region {region}").get("currentVersionUrl")
    if not version:
        raise RefreshError(f"{code}'s region index {region_index_url} lists no file for {region}.")
    return urljoin(endpoint, version)


def _get(session: requests.Session, url: str) -> requests.Response:
    try:
        response = session.get(url, stream=True, timeout=TIMEOUT)
    except requests.RequestException as exc:
        raise RefreshError(f"Could not fetch {url}: {exc}.") from None
    if response.status_code != 200:
        response.close()
        raise RefreshError(f"{url} answered HTTP {response.status_code}.")
    return response


def _get_json(session: requests.Session, url: str) -> dict:
    with _get(session, url) as response:
        try:
            document = response.json()
        except requests.JSONDecodeError:
            raise RefreshError(f"{url} is not JSON.") from None
        except requests.RequestException as exc:
            raise RefreshError(f"Could not fetch {url}: {exc}.") from None
    return _mapping(document, url)


def _mapping(value, what: str) -> dict:
    if not isinstance(value, dict):
        raise RefreshError(f"{what} is not a JSON object, as AWS documents it.")
    return value


class _Body:
    """A response's body as the file ijson reads, chunk by chunk. Through iter_content a connection
    that drops mid-file raises requests' own errors, which read() turns into a RefreshError."""

    def __init__(self, response: requests.Response, url: str):
        self._chunks: Iterator[bytes] = response.iter_content(chunk_size=1 << 16)
        self._url = url

    def read(self, size: int = -1) -> bytes:
        if size == 0:  # ijson asks for 0 bytes to learn whether the file gives bytes or str
            return b""
        try:
            return next(self._chunks, b"")
        except requests.RequestException as exc:
            raise RefreshError(f"The download of {self._url} broke off: {exc}.") from None
