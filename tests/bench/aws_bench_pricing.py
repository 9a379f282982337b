"""The bench's AWS Price List API (moto has none): GetProducts answered from
fixtures in the API's answer format, tests/data/aws/pricing/SERVICECODE.json
(their "about" says where the shape comes from).

The request is held to botocore's pricing 2017-10-15 model: JSON 1.1 with
X-Amz-Target AWSPriceListService.GetProducts, signed for service "pricing"
in us-east-1 (the API's endpoint region), a ServiceCode, Filters of
{Type, Field, Value} with Type one of the model's enum (the bench evaluates
TERM_MATCH, which is all fahr sends), FormatVersion aws_v1, MaxResults 1 to
100, and a NextToken only as this bench handed it out. Each PriceList item
goes out as a JSON document in a string, as the API sends it. Every call is
logged ("pricing: GetProducts ...") so that tests can count them.
"""
import json
import os
import re

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURES = os.path.join(HERE, "..", "data", "aws", "pricing")
TARGET = "AWSPriceListService.GetProducts"
FILTER_TYPES = ("TERM_MATCH", "EQUALS", "CONTAINS", "ANY_OF", "NONE_OF")
SCOPE = re.compile(r"Credential=[^/]+/\d{8}/([^/]+)/([^/]+)/aws4_request")
MEMBERS = {"ServiceCode", "Filters", "FormatVersion", "NextToken", "MaxResults"}


def error(kind, message, status=400):
    return status, json.dumps({"__type": kind, "message": message}).encode()


def load(service_code):
    if not re.fullmatch(r"[A-Za-z0-9]+", service_code):
        return None
    path = os.path.join(FIXTURES, service_code + ".json")
    if not os.path.exists(path):
        return None
    with open(path) as f:
        return json.load(f)["products"]


def check(request):
    """None when the request is GetProducts' by the model, else why not."""
    if not isinstance(request, dict):
        return "the body is not a JSON object"
    extra = set(request) - MEMBERS
    if extra:
        return f"unknown members {sorted(extra)}"
    if not isinstance(request.get("ServiceCode"), str) or not request["ServiceCode"]:
        return "ServiceCode is required (a string)"
    if request.get("FormatVersion", "aws_v1") != "aws_v1":
        return "FormatVersion must be aws_v1"
    size = request.get("MaxResults", 100)
    if not isinstance(size, int) or isinstance(size, bool) or not 1 <= size <= 100:
        return "MaxResults must be an integer from 1 to 100"
    filters = request.get("Filters", [])
    if not isinstance(filters, list):
        return "Filters must be a list"
    for item in filters:
        if not isinstance(item, dict) or set(item) != {"Type", "Field", "Value"}:
            return "each filter has exactly Type, Field and Value"
        if item["Type"] not in FILTER_TYPES:
            return f"filter Type {item['Type']!r} is none of {FILTER_TYPES}"
        if item["Type"] != "TERM_MATCH":
            return "the bench evaluates TERM_MATCH filters only"
        if not isinstance(item["Field"], str) or not isinstance(item["Value"], str):
            return "a filter's Field and Value are strings"
    return None


def matches(product, filters):
    attributes = {k.lower(): v for k, v in product["product"]["attributes"].items()}
    attributes["servicecode"] = product["serviceCode"]
    attributes["productfamily"] = product["product"].get("productFamily", "")
    return all(attributes.get(f["Field"].lower()) == f["Value"] for f in filters)


def answer(headers, body, log):
    """GetProducts: (status, body) for the bench to send."""
    if headers.get("X-Amz-Target") != TARGET:
        return error("UnknownOperationException", f"{headers.get('X-Amz-Target')}")
    if not headers.get("Content-Type", "").startswith("application/x-amz-json-1.1"):
        return error("SerializationException", "Content-Type must be application/x-amz-json-1.1")
    scope = SCOPE.search(headers.get("Authorization", ""))
    if scope is None or scope.groups() != ("us-east-1", "pricing"):
        return error("InvalidSignatureException",
                     "the Price List API is signed for region us-east-1, service pricing; got "
                     f"{scope.groups() if scope else 'no credential scope'}", 403)
    try:
        request = json.loads(body or b"{}")
    except ValueError:
        return error("SerializationException", "the body is not JSON")
    why = check(request)
    if why is not None:
        log(f"pricing: GetProducts refused: {why}")
        return error("InvalidParameterException", why)
    products = load(request["ServiceCode"])
    if products is None:
        log(f"pricing: GetProducts {request['ServiceCode']}: no such service")
        return error("NotFoundException", f"no service code {request['ServiceCode']}")
    filters = request.get("Filters", [])
    found = [p for p in products if matches(p, filters)]
    start = 0
    if "NextToken" in request:
        token = request["NextToken"]
        if not (isinstance(token, str) and token.startswith("bench:") and token[6:].isdigit()):
            return error("InvalidNextTokenException", "the NextToken is not one this bench gave")
        start = int(token[6:])
    size = request.get("MaxResults", 100)
    page = found[start:start + size]
    log(f"pricing: GetProducts {request['ServiceCode']} "
        + " ".join(f"{f['Field']}={f['Value']}" for f in filters) + f": {len(page)} products")
    result = {"FormatVersion": "aws_v1", "PriceList": [json.dumps(p) for p in page]}
    if start + size < len(found):
        result["NextToken"] = f"bench:{start + size}"
    return 200, json.dumps(result).encode()
