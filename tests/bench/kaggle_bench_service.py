"""The Kernels API's methods for tests/bench/kaggle_bench.py (see its
docstring for what each answers)."""
import base64
import datetime
import hashlib
import hmac
import json
import os
import re
import secrets
import threading
import time
import urllib.parse

from kaggle_bench_jobs import TERMINAL, Session
from kaggle_bench_spec import ApiError, as_int

GPU_SHAPES = ("NvidiaTeslaP100", "NvidiaTeslaT4", "NvidiaTeslaT4Highmem", "NvidiaTeslaA100",
              "NvidiaL4", "NvidiaL4X1", "NvidiaH100", "NvidiaRtxPro6000")
TPU_SHAPES = ("TpuV38", "Tpu1VmV38", "TpuV5E8", "TpuV6E8")
MAX_TIMEOUT = {"cpu": 43200, "gpu": 43200, "tpu": 32400}
SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{4,}$")
URL_LIFETIME = 3600
USERCONTENT = "/kaggleusercontent/"  # the API port's path of redirected file URLs


def slugify(title):
    return re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")


def timestamp(seconds):
    moment = datetime.datetime.fromtimestamp(seconds, datetime.timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def page_token(offset):
    return base64.urlsafe_b64encode(json.dumps({"offset": offset}).encode()).decode()


def page_offset(token):
    if not token:
        return 0
    try:
        offset = json.loads(base64.urlsafe_b64decode(token.encode()))["offset"]
        if isinstance(offset, int) and offset >= 0:
            return offset
    except (ValueError, KeyError, TypeError):
        pass
    raise ApiError(400, "Invalid page token")


class Bench:
    def __init__(self, spec, args, workdir, storage_port):
        self.spec = spec
        self.user, self.key, self.token = args.user, args.key, args.token
        self.image = args.image
        self.dir = workdir
        self.queue_seconds = args.queue_seconds
        self.storage_port = storage_port
        self.lock = threading.RLock()
        self.secret = secrets.token_bytes(32)
        self.kernels = {}     # "owner/slug" -> kernel (a dict)
        self.sessions = {}    # id -> Session
        self.next_id = [1000, 70000]  # kernel ids, session ids
        self.datasets = {}    # "OWNER/NAME" -> local directory
        self.fail_next = []
        self.errors = []      # (status, retryAfter, method or None) for the next API calls
        self.break_downloads = [0]
        self.corrupt_files = set()  # output names served with their bytes changed
        self.redirect_downloads = False  # file URLs on the API port, 302 to the storage
        self.api_port = None  # set once the API listens
        self.requests = []
        self.quota = {"gpu": [0.0, 30 * 3600.0], "tpu": [0.0, 20 * 3600.0]}

    # --- the kernels -------------------------------------------------------

    def kernel_for(self, user_name, slug):
        if user_name != self.user:
            raise ApiError(403, f"Permission denied on kernel {user_name}/{slug}")
        kernel = self.kernels.get(f"{user_name}/{slug}")
        if kernel is None:
            raise ApiError(404, f"Kernel {user_name}/{slug} not found")
        return kernel

    def session_for(self, body):
        kernel = self.kernel_for(body["userName"], body["kernelSlug"])
        label = body.get("versionLabel")
        if label:
            if not str(label).isdigit() or not 1 <= int(label) <= len(kernel["sessions"]):
                raise ApiError(404, f"Version {label} of {kernel['ref']} not found")
            return self.sessions[kernel["sessions"][int(label) - 1]]
        return self.sessions[kernel["sessions"][-1]]

    def accelerator(self, body):
        shape = body.get("machineShape")
        if shape and shape not in GPU_SHAPES + TPU_SHAPES:
            return None, f"Invalid machine shape {shape}"
        if body.get("enableTpu") or shape in TPU_SHAPES:
            return "tpu", None
        if body.get("enableGpu") or shape in GPU_SHAPES:
            return "gpu", None
        return "cpu", None

    def save_kernel(self, body):
        kind, error = self.accelerator(body)
        if error:
            return {"ref": "", "url": "", "error": error}
        timeout = as_int(body.get("sessionTimeoutSeconds"))
        if timeout is not None and not 0 < timeout <= MAX_TIMEOUT[kind]:
            raise ApiError(400, f"sessionTimeoutSeconds must be between 1 and "
                                f"{MAX_TIMEOUT[kind]} for this machine")
        if body.get("kernelType") not in ("script", "notebook"):
            raise ApiError(400, f"Invalid kernelType {body.get('kernelType')}")
        if body.get("language") not in ("python", "r", "rmarkdown"):
            raise ApiError(400, f"Invalid language {body.get('language')}")
        if body["kernelType"] == "notebook":
            try:
                json.loads(body["text"])
            except ValueError:
                return {"ref": "", "url": "", "error": "Notebook text is not valid JSON"}
        if kind != "cpu":
            used, allowed = self.quota[kind]
            if used >= allowed:
                return {"ref": "", "url": "", "error":
                        f"You have used all of your weekly {kind.upper()} quota"}
        with self.lock:
            kernel = self.find_or_create_kernel(body)
            fail = self.fail_next.pop(0) if self.fail_next else None
            session_id = self.next_id[1]
            self.next_id[1] += 1
            session = Session(self, session_id, kernel, len(kernel["sessions"]) + 1, body)
            session.accelerator = kind
            self.sessions[session_id] = session
            kernel["sessions"].append(session_id)
            kernel["request"] = body
            kernel["updated"] = time.time()
        threading.Thread(target=session.run, args=(fail,), daemon=True).start()
        invalid = {"invalidDatasetSources": [r for r in body.get("datasetDataSources") or []
                                             if r not in self.datasets]}
        for field in ("Competition", "Kernel", "Model"):
            invalid[f"invalid{field}Sources"] = list(body.get(f"{field.lower()}DataSources") or [])
        answer = {"ref": kernel["ref"], "url": f"http://127.0.0.1/code/{kernel['ref']}"
                  f"?scriptVersionId={session_id}", "versionNumber": session.version,
                  "kernelId": kernel["id"]}
        answer.update({k: v for k, v in invalid.items() if v})
        return answer

    def find_or_create_kernel(self, body):
        if body.get("id") not in (None, "", 0):
            for kernel in self.kernels.values():
                if kernel["id"] == as_int(body["id"]):
                    return kernel
            raise ApiError(404, f"Kernel id {body['id']} not found")
        owner, _, slug = body["slug"].partition("/")
        if not owner or not slug:
            raise ApiError(400, f"Invalid kernel slug {body['slug']}: use owner/kernel-slug")
        if owner != self.user:
            raise ApiError(403, f"Permission denied: {owner} is not the signed-in user")
        if f"{owner}/{slug}" in self.kernels:
            return self.kernels[f"{owner}/{slug}"]
        title = body.get("newTitle") or ""
        if len(title) < 5:
            raise ApiError(400, "A new kernel needs a title of at least 5 characters")
        if not SLUG.match(slug):
            raise ApiError(400, f"Invalid kernel slug {slug}: at least 5 characters, "
                                "lowercase letters, digits and dashes")
        slug = slugify(title)  # Kaggle names a new kernel after its title
        if f"{owner}/{slug}" in self.kernels:
            return self.kernels[f"{owner}/{slug}"]
        kernel = {"id": self.next_id[0], "ref": f"{owner}/{slug}", "owner": owner,
                  "slug": slug, "title": title, "sessions": [], "created": time.time()}
        self.next_id[0] += 1
        self.kernels[kernel["ref"]] = kernel
        return kernel

    def session_ended(self, session):
        """Charge a GPU or TPU session's run time to its quota."""
        if session.accelerator != "cpu" and session.started:
            with self.lock:
                self.quota[session.accelerator][0] += session.ended - session.started

    def status(self, body):
        session = self.session_for(body)
        answer = {"status": session.status}
        if session.failure:
            answer["failureMessage"] = session.failure
        return answer

    def list_output(self, body):
        session = self.session_for(body)
        size = as_int(body.get("pageSize")) or 20
        if not 1 <= size <= 100:
            raise ApiError(400, "pageSize must be between 1 and 100")
        offset = page_offset(body.get("pageToken"))
        files = session.output_files() if session.status in TERMINAL else []
        page = files[offset:offset + size]
        answer = {"files": [{"url": self.signed_url(session.id, name), "fileName": name}
                            for name in page], "log": session.log_json()}
        if offset + size < len(files):
            answer["nextPageToken"] = page_token(offset + size)
        return answer

    def signed_url(self, session_id, name):
        path = f"/kf/{session_id}/" + "/".join(urllib.parse.quote(p, safe="")
                                               for p in name.split("/"))
        expires = int(time.time()) + URL_LIFETIME
        query = f"?Expires={expires}&Signature={self.signature(path, expires)}"
        if self.redirect_downloads:  # as www.kaggleusercontent.com hands on to the storage
            return f"http://127.0.0.1:{self.api_port}{USERCONTENT}{path[1:]}{query}"
        return f"http://127.0.0.1:{self.storage_port}{path}{query}"

    def storage_url(self, path_and_query):
        return f"http://127.0.0.1:{self.storage_port}/{path_and_query}"

    def signature(self, path, expires):
        return hmac.new(self.secret, f"{path}\n{expires}".encode(), hashlib.sha256).hexdigest()

    def cancel(self, body):
        session = self.sessions.get(as_int(body["kernelSessionId"]))
        if session is None or session.kernel["owner"] != self.user:
            raise ApiError(404, f"Kernel session {body['kernelSessionId']} not found")
        if not session.cancel():
            return {"errorMessage": f"Kernel session {session.id} has already ended"}
        return {}

    def metadata(self, kernel):
        request = kernel.get("request", {})
        found = {"id": kernel["id"], "ref": kernel["ref"], "title": kernel["title"],
                "author": kernel["owner"], "slug": kernel["slug"],
                "lastRunTime": timestamp(kernel["updated"]),
                "language": request.get("language"), "kernelType": request.get("kernelType"),
                "isPrivate": request.get("isPrivate", True),
                "enableGpu": bool(request.get("enableGpu")),
                "enableTpu": bool(request.get("enableTpu")),
                "enableInternet": bool(request.get("enableInternet")),
                "datasetDataSources": request.get("datasetDataSources") or [],
                "currentVersionNumber": len(kernel["sessions"]),
                "machineShape": request.get("machineShape"), "totalVotes": 0}
        return {k: v for k, v in found.items() if v is not None}  # defaults left out

    def list_kernels(self, body):
        if body.get("user") not in (None, self.user):
            return {"kernels": []}  # another user's private kernels are not listed
        search = body.get("search") or ""
        with self.lock:
            kernels = sorted((k for k in self.kernels.values()
                              if search in k["ref"] or search in k["title"]),
                             key=lambda k: k["updated"], reverse=True)
        size = as_int(body.get("pageSize")) or 20
        page = as_int(body.get("page")) or 1
        if not 1 <= size <= 100 or page < 1:
            raise ApiError(400, "pageSize must be between 1 and 100, page at least 1")
        chosen = kernels[(page - 1) * size: page * size]
        return {"kernels": [self.metadata(k) for k in chosen]}

    def get_kernel(self, body):
        kernel = self.kernel_for(body["userName"], body["kernelSlug"])
        request = kernel["request"]
        return {"metadata": self.metadata(kernel),
                "blob": {"source": request.get("text"), "language": request.get("language"),
                         "kernelType": request.get("kernelType"), "slug": kernel["ref"]}}

    def quota_statistics(self, _body):
        refresh = time.time() + 7 * 86400

        def quota(kind):
            used, allowed = self.quota[kind]
            running = sum(time.time() - s.started for s in self.sessions.values()
                          if s.accelerator == kind and s.started
                          and s.status not in TERMINAL)
            return {"timeUsed": f"{int(used)}s", "timeReserved": f"{int(running)}s",
                    "totalTimeAllowed": f"{int(allowed)}s", "minimumTimeAllowed": f"{int(allowed)}s",
                    "hasEverRun": used > 0}
        with self.lock:
            return {"quotaRefreshTime": timestamp(refresh),
                    "gpuQuota": quota("gpu"), "tpuQuota": quota("tpu")}

    def session_for_logs(self, body):
        if body.get("kernelSessionId"):
            session = self.sessions.get(as_int(body["kernelSessionId"]))
            if session is None or session.kernel["owner"] != self.user:
                raise ApiError(404, f"Kernel session {body['kernelSessionId']} not found")
            return session
        if not body.get("userName"):
            raise ApiError(400, "Missing required field userName")
        return self.session_for(body)

    def introspect_token(self, body):
        """Whose a token is. Kaggle answers active for its own tokens only;
        another is not active, and proto3 JSON leaves the defaults out."""
        if not hmac.compare_digest(body["token"].encode(), self.token.encode()):
            return {}
        return {"active": True, "clientId": "kaggle-cli", "username": self.user,
                "userId": "4242", "scope": "resources.admin:*",
                "exp": str(int(time.time()) + 3600)}

    METHODS = {"IntrospectToken": introspect_token, "SaveKernel": save_kernel, "GetKernelSessionStatus": status,
               "ListKernelSessionOutput": list_output, "CancelKernelSession": cancel,
               "ListKernels": list_kernels, "GetKernel": get_kernel,
               "GetAcceleratorQuotaStatistics": quota_statistics}

    def call(self, method, body):
        handler = self.METHODS.get(method)
        if handler is None:
            raise ApiError(501, f"{method} is not implemented by the bench")
        return handler(self, body)

    def dataset_dir(self, ref, path):
        owner, _, name = ref.partition("/")
        if not owner or not name or not os.path.isdir(path):
            raise ApiError(400, "datasets: give ref OWNER/NAME and an existing directory")
        self.datasets[ref] = os.path.abspath(path)
