"""Request validation for tests/bench/kaggle_bench.py, against the Kaggle
Kernels API description in tests/data/kaggle/kaggle-kernels-api.derived.json
(derived from kagglesdk's generated types; see tests/data/kaggle/SOURCE).

Every RPC body must be a JSON object whose keys are fields of the request
message (camelCase, as kagglesdk's to_dict writes them) with values of the
field's type. What the generated types cannot say (which fields the service
needs) is in REQUIRED below, from what Kaggle's service answers without them.
A failure is an ApiError, answered as Kaggle's error shape
{"code": STATUS, "message": "..."} with that HTTP status.
"""
import json
import os
import re

SPEC_PATH = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                         "..", "data", "kaggle", "kaggle-kernels-api.derived.json")

# Fields the service refuses a request without (alternatives in a tuple:
# one of them is enough).
REQUIRED = {
    "SaveKernel": [("slug", "id"), "text", "language", "kernelType"],
    "GetKernelSessionStatus": ["userName", "kernelSlug"],
    "ListKernelSessionOutput": ["userName", "kernelSlug"],
    "ListKernelFiles": ["userName", "kernelSlug"],
    "GetKernel": ["userName", "kernelSlug"],
    "CancelKernelSession": ["kernelSessionId"],
    "GetKernelSessionLogsStream": [("kernelSessionId", "kernelSlug")],
    "DeleteKernel": ["userName", "kernelSlug"],
    "IntrospectToken": ["token"],
}
KERNELS = "kernels.KernelsApiService"

DURATION = re.compile(r"^-?[0-9]+(\.[0-9]{1,9})?s$")
TIMESTAMP = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+Z$")


class ApiError(Exception):
    """An answer in Kaggle's error shape: HTTP status, {code, message}."""

    def __init__(self, status, message, headers=None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers or {}

    def body(self):
        return {"code": self.status, "message": self.message}


class Spec:
    def __init__(self, path=SPEC_PATH):
        with open(path, encoding="utf-8") as f:
            doc = json.load(f)
        # (service, rpc): the rpcs of kernels.KernelsApiService, and those of
        # other services (IntrospectToken) that name their service.
        self.rpcs = {(r.get("service", KERNELS), r["rpc"]): r for r in doc["rpcs"]}
        self.messages = doc["messages"]
        self.enums = doc["enums"]

    def request_message(self, rpc, service=KERNELS):
        if (service, rpc) not in self.rpcs:
            raise ApiError(404, f"method {service}/{rpc} not found")
        return self.rpcs[(service, rpc)]["request"]

    def parse(self, rpc, raw, service=KERNELS):
        """The request body of SERVICE/RPC as a dict, or an ApiError."""
        message = self.request_message(rpc, service)
        try:
            body = json.loads(raw.decode("utf-8")) if raw.strip() else {}
        except (UnicodeDecodeError, ValueError) as error:
            raise ApiError(400, f"Invalid JSON payload received. {error}") from None
        if not isinstance(body, dict):
            raise ApiError(400, "Invalid JSON payload received. "
                                "Request body must be a JSON object")
        self.check_message(message, body, "")
        for need in REQUIRED.get(rpc, []):
            names = need if isinstance(need, tuple) else (need,)
            if not any(body.get(name) not in (None, "", 0) for name in names):
                raise ApiError(400, f"Missing required field "
                                    f"{' or '.join(names)} in {message}")
        return body

    def check_message(self, message, body, where):
        fields = {f["json"]: f for f in self.messages.get(message, [])}
        for key, value in body.items():
            if key not in fields:
                raise ApiError(400, f"Invalid JSON payload received. "
                                    f"Unknown name \"{where}{key}\" at '{message}': "
                                    f"Cannot find field.")
            field = fields[key]
            if value is None:
                continue
            if field["list"]:
                if not isinstance(value, list):
                    raise self.wrong_type(where + key, field, value)
                for item in value:
                    self.check_value(field, item, f"{where}{key}[]")
            else:
                self.check_value(field, value, where + key)

    def check_value(self, field, value, where):
        kind = field["type"]
        ok = True
        if field["enum"]:
            values = self.enums.get(kind, {})
            ok = (isinstance(value, str) and value in values) or \
                (isinstance(value, int) and not isinstance(value, bool)
                 and value in values.values())
            if not ok:
                raise ApiError(400, f"Invalid value at '{where}' ({kind}), "
                                    f"{json.dumps(value)}")
        elif kind == "str":
            ok = isinstance(value, str)
        elif kind == "int":
            # proto3 JSON: int64 may come as a decimal string.
            ok = (isinstance(value, int) and not isinstance(value, bool)) or \
                (isinstance(value, str) and re.fullmatch(r"-?[0-9]+", value) is not None)
        elif kind == "bool":
            ok = isinstance(value, bool)
        elif kind == "timedelta":
            ok = isinstance(value, str) and DURATION.match(value) is not None
        elif kind == "datetime":
            ok = isinstance(value, str) and TIMESTAMP.match(value) is not None
        elif kind in self.messages:
            if not isinstance(value, dict):
                raise self.wrong_type(where, field, value)
            self.check_message(kind, value, where + ".")
        if not ok:
            raise self.wrong_type(where, field, value)

    @staticmethod
    def wrong_type(where, field, value):
        kind = ("repeated " if field["list"] else "") + field["type"]
        return ApiError(400, f"Invalid value at '{where}' ({kind}), "
                             f"{json.dumps(value)[:80]}")


def as_int(value):
    return int(value) if value not in (None, "") else None
