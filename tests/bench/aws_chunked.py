"""S3's aws-chunked request bodies, checked as S3 checks them, for the
bench's front (aws_bench.py): the SDKs' flexible checksums send uploads as

  STREAMING-AWS4-HMAC-SHA256-PAYLOAD[-TRAILER]  chunks signed in a chain
      <hex size>;chunk-signature=<sig>\\r\\n<data>\\r\\n ... 0;chunk-signature=<sig>\\r\\n
      [x-amz-checksum-<alg>:<base64>\\r\\nx-amz-trailer-signature:<sig>\\r\\n]\\r\\n
  STREAMING-UNSIGNED-PAYLOAD-TRAILER            the same without signatures

Each chunk's signature covers the SHA-256 of its data and the signature
before it (the first: the request's own), the trailer's its lines. decode()
checks every signature, the decoded length against
x-amz-decoded-content-length and the trailing checksum against the data,
and gives the plain body and the checksum header S3 would keep; moto, which
strips the framing without checking any of it, then gets a plain request.
"""
import base64
import hashlib
import hmac
import re
import zlib

SIGNED = ("STREAMING-AWS4-HMAC-SHA256-PAYLOAD", "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER")
UNSIGNED = ("STREAMING-UNSIGNED-PAYLOAD-TRAILER",)
PAYLOADS = SIGNED + UNSIGNED
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()
AUTH = re.compile(r"AWS4-HMAC-SHA256 Credential=[^/]+/(\d{8})/([^/]+)/([^/]+)/aws4_request, "
                  r"SignedHeaders=[^,]+, Signature=([0-9a-f]{64})$")


def crc32_base64(data):
    return base64.b64encode(zlib.crc32(data).to_bytes(4, "big")).decode()


def _crc32c_table():
    table = []
    for i in range(256):
        crc = i
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 if crc & 1 else 0)
        table.append(crc)
    return table


CRC32C_TABLE = _crc32c_table()


def crc32c_base64(data):
    crc = 0xFFFFFFFF
    for byte in data:
        crc = CRC32C_TABLE[(crc ^ byte) & 0xFF] ^ (crc >> 8)
    return base64.b64encode((crc ^ 0xFFFFFFFF).to_bytes(4, "big")).decode()


CHECKSUMS = {"x-amz-checksum-crc32": crc32_base64, "x-amz-checksum-crc32c": crc32c_base64}


class Refused(Exception):
    pass


def _hmac(key, text):
    return hmac.new(key, text.encode(), hashlib.sha256).digest()


def _signing_key(secret, date, region, service):
    key = _hmac(("AWS4" + secret).encode(), date)
    for part in (region, service, "aws4_request"):
        key = _hmac(key, part)
    return key


class _Chain:
    def __init__(self, headers, secret):
        match = AUTH.match(headers.get("Authorization", ""))
        if not match:
            raise Refused("no SigV4 Authorization to chain the chunk signatures to")
        date, region, service, seed = match.groups()
        self.key = _signing_key(secret, date, region, service)
        self.head = "\n".join([headers.get("X-Amz-Date", ""),
                               f"{date}/{region}/{service}/aws4_request"])
        self.previous = seed

    def next(self, algorithm, last_line):
        text = "\n".join([algorithm, self.head, self.previous, last_line])
        self.previous = hmac.new(self.key, text.encode(), hashlib.sha256).hexdigest()
        return self.previous


def _line(body, at):
    end = body.find(b"\r\n", at)
    if end < 0:
        raise Refused("a chunk's line has no CRLF")
    return body[at:end].decode("ascii", "replace"), end + 2


def _chunks(body, chain):
    """The data, and where the trailer starts."""
    data, at = bytearray(), 0
    while True:
        line, at = _line(body, at)
        size_text, _, extension = line.partition(";")
        if not re.fullmatch(r"[0-9a-fA-F]{1,16}", size_text):
            raise Refused(f"a chunk's size is not hex: {line[:40]!r}")
        size = int(size_text, 16)
        chunk = body[at:at + size]
        if len(chunk) != size:
            raise Refused("a chunk is cut short")
        if chain is not None:
            given = extension[len("chunk-signature="):] if extension.startswith("chunk-signature=") else None
            expected = chain.next("AWS4-HMAC-SHA256-PAYLOAD",
                                  EMPTY_SHA256 + "\n" + hashlib.sha256(chunk).hexdigest())
            if given != expected:
                raise Refused(f"chunk {len(data)}+{size}: chunk-signature does not match")
        elif extension:
            raise Refused("an unsigned chunk has an extension")
        data += chunk
        at += size
        if size == 0:
            return bytes(data), at
        if body[at:at + 2] != b"\r\n":
            raise Refused("a chunk's data is not followed by CRLF")
        at += 2


def _trailer(body, at, chain, announced):
    """The trailing headers, {name: value}."""
    fields, lines = {}, ""
    while True:
        line, at = _line(body, at)
        if line == "":
            break
        name, _, value = line.partition(":")
        name = name.strip().lower()
        if name == "x-amz-trailer-signature":
            if chain is None or chain.next("AWS4-HMAC-SHA256-TRAILER",
                                           hashlib.sha256(lines.encode()).hexdigest()) != value:
                raise Refused("x-amz-trailer-signature does not match")
            fields[name] = value
            continue
        fields[name] = value
        lines += f"{name}:{value}\n"
    if at != len(body):
        raise Refused("bytes after the trailer")
    if chain is not None and announced and "x-amz-trailer-signature" not in fields:
        raise Refused("the trailer is not signed")
    for name in announced:
        if name not in fields:
            raise Refused(f"x-amz-trailer names {name}, which the trailer lacks")
    return fields


def is_signed(headers):
    return headers.get("X-Amz-Content-SHA256", "") in SIGNED


def is_chunked(headers):
    return headers.get("X-Amz-Content-SHA256", "") in PAYLOADS


def decode(headers, body, secret):
    """(plain body, {checksum header: value}) for an aws-chunked request
    whose seed signature has been checked; Refused says why not."""
    payload = headers.get("X-Amz-Content-SHA256", "")
    if "aws-chunked" not in headers.get("Content-Encoding", ""):
        raise Refused(f"{payload} without Content-Encoding: aws-chunked")
    chain = _Chain(headers, secret) if payload in SIGNED else None
    data, at = _chunks(body, chain)
    announced = [n.strip().lower() for n in headers.get("x-amz-trailer", "").split(",") if n.strip()]
    fields = _trailer(body, at, chain, announced)
    if str(len(data)) != headers.get("x-amz-decoded-content-length"):
        raise Refused("x-amz-decoded-content-length is not the data's length")
    kept = {}
    for name in announced:
        compute = CHECKSUMS.get(name)
        if compute is None:
            raise Refused(f"the bench does not check {name}")
        if compute(data) != fields[name]:
            raise Refused(f"{name} {fields[name]} does not match the data ({compute(data)})")
        kept[name] = fields[name]
    return data, kept


def as_plain_request(headers, data, kept):
    """Turn the request's headers into those of a plain upload of `data`."""
    for name in ("Content-Encoding", "x-amz-decoded-content-length", "x-amz-trailer",
                 "Content-Length", "X-Amz-Content-SHA256"):
        del headers[name]
    headers["Content-Length"] = str(len(data))
    headers["X-Amz-Content-SHA256"] = hashlib.sha256(data).hexdigest()
    for name, value in kept.items():
        headers[name] = value
