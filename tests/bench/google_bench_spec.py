"""Requests checked against Google's discovery documents (tests/data/google/).

Spec(dir).check(method_id, query, body) raises SpecError (a 400
INVALID_ARGUMENT) for a query parameter the method or the API does not have,
a value of the wrong type or outside its enum, a body field the schema does
not have, a wrong JSON type, or a missing field the docs mark required
(`required: true` on a parameter, a description starting "Required." on a
schema property). int64/uint64 fields are strings on the wire, and are
accepted as JSON numbers too, as Google's parsers do; enums are accepted by
name or, with `$alt=json;enum-encoding=int`, by number (their index)."""
import json
import os
import re

DOCS = ("aiplatform-v1-customjobs-subset.json", "logging-v2.json", "storage-v1.json",
        "artifactregistry-v1.json")
INT_FORMATS = ("int32", "uint32", "int64", "uint64")
INT_PATTERN = re.compile(r"^-?[0-9]+$")
REQUIRED = re.compile(r"^\s*Required[.:]")


# Query parameters that Google added after the revisions in tests/data/google
# and that current clients send (gcloud 528's `storage ls`).
NEWER_PARAMETERS = {
    "storage.objects.list": {
        "includeFoldersAsPrefixes": {"type": "boolean", "location": "query"},
        "matchGlob": {"type": "string", "location": "query"},
        "softDeleted": {"type": "boolean", "location": "query"}},
}


class SpecError(Exception):
    code, status = 400, "INVALID_ARGUMENT"

    def __init__(self, message):
        super().__init__(message)
        self.message = message


class Spec:
    def __init__(self, data_dir):
        self.methods = {}  # id -> (method, document)
        for name in DOCS:
            with open(os.path.join(data_dir, name), encoding="utf-8") as f:
                doc = json.load(f)
            self.collect(doc, doc)

    def collect(self, node, doc):
        for method in node.get("methods", {}).values():
            self.methods[method["id"]] = (method, doc)
        for child in node.get("resources", {}).values():
            self.collect(child, doc)

    def check(self, method_id, query, body):
        """query: name -> list of values; body: parsed JSON or None."""
        if method_id not in self.methods:
            raise KeyError(f"no discovery method {method_id}")
        method, doc = self.methods[method_id]
        int_enums = "enum-encoding=int" in ";".join(query.get("$alt", []))
        params = {**doc.get("parameters", {}), **method.get("parameters", {}),
                  **NEWER_PARAMETERS.get(method_id, {})}
        for name, values in query.items():
            if name == "$alt":
                continue
            param = params.get(name)
            if param is None or param.get("location") == "path":
                raise SpecError(f"Invalid JSON payload received. Unknown name \"{name}\": "
                                "Cannot bind query parameter.")
            if len(values) > 1 and not param.get("repeated"):
                raise SpecError(f"Query parameter \"{name}\" is given more than once.")
            for value in values:
                if name == "alt" and value == "media" and method.get("supportsMediaDownload"):
                    continue  # the global enum leaves out what media methods add
                self.check_param(name, param, value)
        for name, param in params.items():
            if param.get("required") and param.get("location") == "query" and name not in query:
                raise SpecError(f"Required parameter: {name}")
        request = method.get("request")
        if request is not None and body is not None:
            self.check_value("", {"$ref": request["$ref"]}, body, doc, int_enums)

    @staticmethod
    def check_param(name, param, value):
        kind = param.get("type")
        if kind == "integer" or param.get("format") in INT_FORMATS:
            if not INT_PATTERN.match(value):
                raise SpecError(f"Invalid value at '{name}' ({param.get('format', kind)}), "
                                f"\"{value}\"")
        elif kind == "boolean" and value.lower() not in ("true", "false"):  # apitools: "True"
            raise SpecError(f"Invalid value at '{name}' (TYPE_BOOL), \"{value}\"")
        if "enum" in param and value not in param["enum"]:
            raise SpecError(f"Invalid value at '{name}', \"{value}\": not one of "
                            f"{', '.join(param['enum'])}")

    def check_value(self, where, schema, value, doc, int_enums):
        if "$ref" in schema:
            schema = doc["schemas"][schema["$ref"]]
        kind = schema.get("type")
        label = where or "the request body"
        if kind == "object":
            self.check_object(where, schema, value, doc, int_enums)
        elif kind == "array":
            if not isinstance(value, list):
                raise SpecError(f"Invalid value at '{label}': expected a list")
            for index, item in enumerate(value):
                self.check_value(f"{where}[{index}]", schema.get("items", {}), item, doc,
                                 int_enums)
        elif kind == "string":
            self.check_string(label, schema, value, int_enums)
        elif kind == "integer":
            if not (isinstance(value, int) and not isinstance(value, bool)) and not (
                    isinstance(value, str) and INT_PATTERN.match(value)):
                raise SpecError(f"Invalid value at '{label}' ({schema.get('format')}), {value!r}")
        elif kind == "number":
            if isinstance(value, bool) or not isinstance(value, (int, float, str)):
                raise SpecError(f"Invalid value at '{label}' (TYPE_DOUBLE), {value!r}")
        elif kind == "boolean" and not isinstance(value, bool):
            raise SpecError(f"Invalid value at '{label}' (TYPE_BOOL), {value!r}")
        # "any" and untyped: anything goes

    @staticmethod
    def check_string(label, schema, value, int_enums):
        if schema.get("format") in INT_FORMATS:
            if isinstance(value, bool) or not (isinstance(value, int) or (
                    isinstance(value, str) and INT_PATTERN.match(value))):
                raise SpecError(f"Invalid value at '{label}' (TYPE_{schema['format'].upper()}), "
                                f"{json.dumps(value)}")
            return
        enum = schema.get("enum")
        if enum is not None:
            if int_enums and isinstance(value, int) and not isinstance(value, bool) \
                    and 0 <= value < len(enum):
                return
            if value not in enum:
                raise SpecError(f"Invalid value at '{label}' (TYPE_ENUM), {json.dumps(value)}")
            return
        if not isinstance(value, str):
            raise SpecError(f"Invalid value at '{label}' (TYPE_STRING), {json.dumps(value)}")

    def check_object(self, where, schema, value, doc, int_enums):
        label = where or "the request body"
        if not isinstance(value, dict):
            raise SpecError(f"Invalid value at '{label}': expected an object")
        properties = schema.get("properties", {})
        extra = schema.get("additionalProperties")
        for name, item in value.items():
            path = f"{where}.{name}" if where else name
            if name in properties:
                self.check_value(path, properties[name], item, doc, int_enums)
            elif extra is not None:
                self.check_value(path, extra, item, doc, int_enums)
            else:
                raise SpecError(f"Invalid JSON payload received. Unknown name \"{name}\" at "
                                f"'{label}': Cannot find field.")
        for name, prop in properties.items():
            if REQUIRED.match(prop.get("description", "")) and name not in value:
                path = f"{where}.{name}" if where else name
                raise SpecError(f"Required field is not set: {path}")
