#!/usr/bin/env python3
"""The bench's aws-chunked checker (aws_chunked.py) against AWS's published
example of a chunked upload with a trailing checksum (Amazon S3 API
Reference, "Signature calculations for trailing headers"), and against
bodies changed on the way: each must be refused. TAP."""
import email.message
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import aws_chunked  # noqa: E402

SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
SIGNATURES = ["b474d8862b1487a5145d686f57f013e54db672cee1c953b3010fb58501ef5aa2",
              "1c1344b170168f8e65b41376b44b20fe354e373826ccbbe2c1d40a8cae51e5c7",
              "2ca2aba2005185cf7159c6277faf83795951dd77a3a99e6e65d5c9f85863f992"]
TRAILER = "d81f82fc3505edab99d459891051a732e8730629a2e4a59689829ca17fe2e435"


def example(payload="STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER"):
    headers = email.message.Message()
    headers["Authorization"] = (
        "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, "
        "SignedHeaders=content-encoding;host;x-amz-content-sha256;x-amz-date;"
        "x-amz-decoded-content-length;x-amz-storage-class;x-amz-trailer, "
        "Signature=106e2a8a18243abcf37539882f36619c00e2dfc72633413f02d3b74544bfeb8e")
    headers["X-Amz-Date"] = "20130524T000000Z"
    headers["X-Amz-Content-SHA256"] = payload
    headers["Content-Encoding"] = "aws-chunked"
    headers["x-amz-decoded-content-length"] = "66560"
    headers["x-amz-trailer"] = "x-amz-checksum-crc32c"
    body = (b"10000;chunk-signature=" + SIGNATURES[0].encode() + b"\r\n" + b"a" * 65536 + b"\r\n"
            + b"400;chunk-signature=" + SIGNATURES[1].encode() + b"\r\n" + b"a" * 1024 + b"\r\n"
            + b"0;chunk-signature=" + SIGNATURES[2].encode() + b"\r\n"
            + b"x-amz-checksum-crc32c:sOO8/Q==\r\n"
            + b"x-amz-trailer-signature:" + TRAILER.encode() + b"\r\n\r\n")
    return headers, body


def unsigned(data, crc):
    headers = email.message.Message()
    headers["X-Amz-Content-SHA256"] = "STREAMING-UNSIGNED-PAYLOAD-TRAILER"
    headers["Content-Encoding"] = "aws-chunked"
    headers["x-amz-decoded-content-length"] = str(len(data))
    headers["x-amz-trailer"] = "x-amz-checksum-crc32"
    body = (b"%x\r\n" % len(data) + data + b"\r\n0\r\n"
            + b"x-amz-checksum-crc32:" + crc.encode() + b"\r\n\r\n")
    return headers, body


def refused(headers, body):
    try:
        aws_chunked.decode(headers, body, SECRET)
    except aws_chunked.Refused as why:
        return str(why)
    return None


def main():
    results = []
    headers, body = example()
    data, kept = aws_chunked.decode(headers, body, SECRET)
    results.append(("AWS's example decodes and checks",
                    data == b"a" * 66560 and kept == {"x-amz-checksum-crc32c": "sOO8/Q=="}))
    headers, body = example()
    changed = body.replace(b"a" * 1024, b"a" * 1023 + b"b")
    results.append(("a changed byte is refused", "chunk-signature" in (refused(headers, changed) or "")))
    headers, body = example()
    changed = body.replace(TRAILER.encode(), b"0" * 64)
    results.append(("a wrong trailer signature is refused",
                    "trailer-signature" in (refused(headers, changed) or "")))
    headers, body = example()
    changed = body.replace(b"sOO8/Q==", b"AAAAAA==")
    results.append(("a changed trailer is refused", refused(headers, changed) is not None))
    headers, body = example()
    changed = body.replace(b"x-amz-trailer-signature:" + TRAILER.encode() + b"\r\n", b"")
    results.append(("an unsigned trailer is refused", refused(headers, changed) is not None))
    headers, body = example()
    cut = body.replace(b"400;chunk-signature=" + SIGNATURES[1].encode() + b"\r\n" + b"a" * 1024
                       + b"\r\n", b"")
    results.append(("a dropped chunk is refused", refused(headers, cut) is not None))
    headers, body = unsigned(b"hello", aws_chunked.crc32_base64(b"hello"))
    results.append(("an unsigned body with its CRC32 decodes",
                    aws_chunked.decode(headers, body, None)[0] == b"hello"))
    headers, body = unsigned(b"hello", aws_chunked.crc32_base64(b"hellO"))
    results.append(("a wrong CRC32 is refused",
                    "does not match the data" in (refused(headers, body) or "")))
    print(f"1..{len(results)}")
    for number, (name, passed) in enumerate(results, 1):
        print(f"{'ok' if passed else 'not ok'} {number} - {name}")
    return 0 if all(passed for _, passed in results) else 1


if __name__ == "__main__":
    sys.exit(main())
