#!/usr/bin/env python3
"""A credentials endpoint as ECS containers and EC2 instances have, for tests.

usage: metadata_server.py PORT ACCESS_KEY SECRET AUTH_TOKEN

- GET /container-credentials with "Authorization: AUTH_TOKEN": the container
  credentials document (AWS_CONTAINER_CREDENTIALS_FULL_URI points here).
- IMDSv2 (AWS_EC2_METADATA_SERVICE_ENDPOINT points here): PUT
  /latest/api/token with X-aws-ec2-metadata-token-ttl-seconds gives a token;
  with it, GET /latest/meta-data/iam/security-credentials/ names the role and
  GET .../ROLE gives the document. Requests without the token get 401, as
  IMDSv2 answers them.
- Under /slow (AWS_EC2_METADATA_SERVICE_ENDPOINT=http://127.0.0.1:PORT/slow),
  the same IMDSv2, but the token comes 2 s late.
- GET /container-credentials-large: a document of 9000 bytes, more than a
  credentials document can be.
"""
import json
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PORT, KEY, SECRET, AUTH = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
IMDS_TOKEN = "imds-token-for-tests"
ROLE = "bench-instance-role"
DOCUMENT = json.dumps({"AccessKeyId": KEY, "SecretAccessKey": SECRET, "Token": "",
                       "Expiration": "2099-01-01T00:00:00Z"}).encode()


class Metadata(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def reply(self, status, body=b""):
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_PUT(self):
        if self.path.startswith("/slow/"):
            time.sleep(2)
            self.path = self.path[len("/slow"):]
        if self.path == "/latest/api/token" and self.headers.get("X-aws-ec2-metadata-token-ttl-seconds"):
            self.reply(200, IMDS_TOKEN.encode())
        else:
            self.reply(400)

    def do_GET(self):
        self.path = self.path[len("/slow"):] if self.path.startswith("/slow/") else self.path
        if self.path == "/container-credentials-large":
            self.reply(200, DOCUMENT[:-1] + b', "Padding": "' + b"x" * 9000 + b'"}')
            return
        if self.path == "/container-credentials":
            self.reply(200, DOCUMENT) if self.headers.get("Authorization") == AUTH else self.reply(401)
            return
        if self.headers.get("X-aws-ec2-metadata-token") != IMDS_TOKEN:
            self.reply(401)
        elif self.path == "/latest/meta-data/iam/security-credentials/":
            self.reply(200, ROLE.encode())
        elif self.path == f"/latest/meta-data/iam/security-credentials/{ROLE}":
            self.reply(200, DOCUMENT)
        else:
            self.reply(404)


ThreadingHTTPServer(("127.0.0.1", PORT), Metadata).serve_forever()
