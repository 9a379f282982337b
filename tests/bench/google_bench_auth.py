"""OAuth 2.0 token endpoint and metadata server of the Google bench.

At start it writes test credentials into DIR/creds/ (mode 0600):
service_account.json (a fresh RSA-2048 key, token_uri = this bench),
authorized_user.json, bad_service_account.json (same email, another key),
external_account.json and access_token (for gcloud's
CLOUDSDK_AUTH_ACCESS_TOKEN_FILE).

The bench hands out ONE access-token value at a time: every grant answers it
and extends its life;
control /expire_tokens makes it invalid and draws a new one (access_token is
rewritten with it). POST /token takes the jwt-bearer grant (RS256 checked with
the service account's public key; iss, aud, iat/exp, scope checked) and the
refresh_token grant, and answers errors as Google's token endpoint does."""
import base64
import json
import os
import secrets
import threading
import time
import urllib.parse

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from google_bench_http import Response, Route

GOOGLE_TOKEN_URI = "https://oauth2.googleapis.com/token"
JWT_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
LIFETIME = 3600
SKEW = 300
SHORT_LIVED = ("Invalid JWT: Token must be a short-lived token (60 minutes) and in a "
               "reasonable timeframe. Check your iat and exp values in the JWT claim.")


class OAuthError(Exception):
    def __init__(self, status, error, description):
        super().__init__(description)
        self.http_status, self.error, self.description = status, error, description


class Auth:
    def __init__(self, bench):
        self.bench = bench
        self.lock = threading.Lock()
        self.token = "ya29.bench-" + secrets.token_urlsafe(24)
        self.expires_at = time.time() + LIFETIME
        self.creds = os.path.join(bench.dir, "creds")

    def valid(self, token):
        with self.lock:
            return secrets.compare_digest(token.encode(), self.token.encode()) \
                and time.time() < self.expires_at

    def current_token(self):
        with self.lock:
            return self.token

    def issue(self):
        """The grant's answer: the current token, good for another hour."""
        with self.lock:
            self.expires_at = time.time() + LIFETIME
            return {"access_token": self.token, "expires_in": LIFETIME - 1,
                    "token_type": "Bearer"}

    def expire_all(self):
        with self.lock:
            self.token = "ya29.bench-" + secrets.token_urlsafe(24)
            self.expires_at = time.time() + LIFETIME
            token = self.token
        write_private(os.path.join(self.creds, "access_token"), token + "\n")
        return token

    def write_credentials(self, token_uri):
        os.makedirs(self.creds, mode=0o700, exist_ok=True)
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.email = f"fahr-bench@{self.bench.project}.iam.gserviceaccount.com"
        self.token_uri = token_uri
        self.client = {"client_id": "bench-client-" + secrets.token_hex(6),
                       "client_secret": secrets.token_urlsafe(18),
                       "refresh_token": "1//bench-" + secrets.token_urlsafe(24)}
        key_id = secrets.token_hex(20)
        for name, key in (("service_account.json", self.key),
                          ("bad_service_account.json", other)):
            write_private(os.path.join(self.creds, name), json.dumps(
                self.service_account(key, key_id), indent=2))
        write_private(os.path.join(self.creds, "authorized_user.json"), json.dumps(
            dict(self.client, type="authorized_user"), indent=2))
        write_private(os.path.join(self.creds, "external_account.json"), json.dumps({
            "type": "external_account", "audience": "//iam.googleapis.com/projects/1/locations/"
            "global/workloadIdentityPools/bench/providers/bench",
            "subject_token_type": "urn:ietf:params:oauth:token-type:jwt",
            "token_url": "https://sts.googleapis.com/v1/token",
            "credential_source": {"file": os.path.join(self.creds, "subject_token")}},
            indent=2))
        write_private(os.path.join(self.creds, "access_token"), self.token + "\n")

    def service_account(self, key, key_id):
        pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption()).decode()
        return {"type": "service_account", "project_id": self.bench.project,
                "private_key_id": key_id, "private_key": pem, "client_email": self.email,
                "client_id": "1" + "0" * 20, "auth_uri": "https://accounts.google.com/o/oauth2/auth",
                "token_uri": self.token_uri,
                "auth_provider_x509_cert_url": "https://www.googleapis.com/oauth2/v1/certs",
                "client_x509_cert_url": "https://www.googleapis.com/robot/v1/metadata/x509/"
                + urllib.parse.quote(self.email), "universe_domain": "googleapis.com"}

    # ---- grants ----
    def grant(self, form):
        kind = form.get("grant_type", "")
        if kind == JWT_GRANT:
            self.check_assertion(form.get("assertion", ""))
        elif kind == "refresh_token":
            self.check_refresh(form)
        else:
            raise OAuthError(400, "unsupported_grant_type", f"Invalid grant_type: {kind}")
        return self.issue()

    def check_assertion(self, assertion):
        parts = assertion.split(".")
        if len(parts) != 3:
            raise OAuthError(400, "invalid_grant", "Invalid JWT: not three segments")
        try:
            header, claims = (json.loads(b64url(p)) for p in parts[:2])
            signature = b64url(parts[2])
        except ValueError:
            raise OAuthError(400, "invalid_grant", "Invalid JWT: not base64url JSON") from None
        if header.get("alg") != "RS256":
            raise OAuthError(400, "invalid_grant", "Invalid JWT: alg must be RS256")
        try:
            self.key.public_key().verify(signature, f"{parts[0]}.{parts[1]}".encode(),
                                         padding.PKCS1v15(), hashes.SHA256())
        except InvalidSignature:
            raise OAuthError(400, "invalid_grant", "Invalid JWT Signature.") from None
        if claims.get("iss") != self.email:
            raise OAuthError(400, "invalid_grant", "Invalid email or User ID")
        # google-auth always sends Google's token URI as aud (see NOTES.md B5).
        if claims.get("aud") not in (self.token_uri, GOOGLE_TOKEN_URI):
            raise OAuthError(400, "invalid_grant", "Invalid JWT: Failed audience check.")
        iat, exp, now = claims.get("iat"), claims.get("exp"), time.time()
        if not isinstance(iat, (int, float)) or not isinstance(exp, (int, float)) \
                or exp - iat > LIFETIME or exp <= iat or iat > now + SKEW or exp < now - SKEW:
            raise OAuthError(400, "invalid_grant", SHORT_LIVED)
        if not claims.get("scope"):
            raise OAuthError(400, "invalid_scope",
                             "Invalid OAuth scope or ID token audience provided.")

    def check_refresh(self, form):
        if form.get("client_id") != self.client["client_id"] or not secrets.compare_digest(
                form.get("client_secret", "").encode(), self.client["client_secret"].encode()):
            raise OAuthError(401, "invalid_client", "Unauthorized")
        if not secrets.compare_digest(form.get("refresh_token", "").encode(),
                                      self.client["refresh_token"].encode()):
            raise OAuthError(400, "invalid_grant", "Bad Request")


def b64url(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def write_private(path, text):
    """Write PATH (0600) whole: a temporary file renamed over it."""
    temporary = f"{path}.tmp"
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(temporary, path)


# ---- the services ----
def start(bench):
    bench.auth = Auth(bench)
    # The credentials name the oauth port's token URI: routes() writes them,
    # called once the port is bound.


def token(bench, request):
    if request.command != "POST":
        raise OAuthError(405, "invalid_request", "POST only")
    form = {k: v[0] for k, v in urllib.parse.parse_qs(request.raw.decode("utf-8", "replace"),
                                                      keep_blank_values=True).items()}
    request.note["grant"] = form.get("grant_type", "")
    try:
        answer = bench.auth.grant(form)
    except OAuthError as error:
        request.note["granted"] = False
        return Response(error.http_status, {"error": error.error,
                                            "error_description": error.description})
    request.note["granted"] = True
    return Response(200, answer, {"Cache-Control": "no-cache, no-store, max-age=0"})


def routes(bench):
    bench.auth.write_credentials(f"http://127.0.0.1:{bench.ports['oauth']}/token")
    return [Route("POST", r"/token$", None, lambda request: token(bench, request))]


def metadata_routes(bench):
    def access_token(_request):
        return bench.auth.issue()

    def text(value):
        return Response(200, value.encode(), content_type="application/text")

    base = r"/computeMetadata/v1"
    return [
        Route("GET", r"/$", None, lambda _r: text("ok")),
        Route("GET", base + r"/instance/service-accounts/default/token$", None, access_token),
        Route("GET", base + r"/instance/service-accounts/default/email$", None,
              lambda _r: text(bench.auth.email)),
        Route("GET", base + r"/project/project-id$", None, lambda _r: text(bench.project)),
    ]
