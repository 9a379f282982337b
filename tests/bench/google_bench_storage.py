"""Cloud Storage JSON API of the Google bench.

Bucket B is the directory bench.storage_root/B and each object a plain file at
its name, so a container that bind-mounts the bucket at /gcs/B sees it as
Cloud Storage FUSE shows it. What a file cannot carry (generation, content
type) lives in this module's state; an object a container wrote has its
mtime as generation. crc32c and md5 are computed from the file and cached by
(size, mtime_ns). Names a file cannot have (empty, ".", ".." segments, NUL)
are refused. Uploads (media, multipart, resumable) are written to a
temporary file and renamed into place: no partial object is ever visible.

Faults (control /fault): {"corrupt_object": "B/NAME"} flips a byte of the
next media download of it (the headers keep the stored hash);
{"break_upload_after": N} cuts the next resumable chunk's connection after N
bytes of it (nothing of that chunk is kept)."""
import base64
import ctypes
import hashlib
import itertools
import json
import os
import re
import secrets
import threading
import time
import urllib.parse

from google_bench_http import GoogleError, Response, Route

QUANTUM = 256 * 1024
BUCKET = r"/storage/v1/b/(?P<bucket>[^/]+)"
UPLOAD = r"/(?:resumable/)?upload/storage/v1/b/(?P<bucket>[^/]+)/o$"
BUCKET_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{1,220}[a-z0-9]$")
CONTENT_RANGE = re.compile(r"^bytes (?:(\d+)-(\d+)|\*)/(\d+|\*)$")
CRC_TABLE = []
for _i in range(256):
    _c = _i
    for _ in range(8):
        _c = (_c >> 1) ^ 0x82F63B78 if _c & 1 else _c >> 1
    CRC_TABLE.append(_c)


def crc32c_python(data, crc=0):
    crc ^= 0xFFFFFFFF
    table = CRC_TABLE
    for byte in data:
        crc = table[(crc ^ byte) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


def isal_crc32c():
    """ISA-L's crc32_iscsi through ctypes, where the library is installed (the
    Vertex driver needs it too): the pure-Python loop above takes about a
    minute for 256 MiB, which would swamp any timing of an upload or fetch.
    Used only if it agrees with the loop on CRC32C's check value and on a
    block of every byte value."""
    for name in ("libisal.so.2", "libisal.so"):
        try:
            library = ctypes.CDLL(name)
        except OSError:
            continue
        function = library.crc32_iscsi
        function.argtypes = (ctypes.c_char_p, ctypes.c_int, ctypes.c_uint32)
        function.restype = ctypes.c_uint32

        def crc32c_isal(data, crc=0):
            view = memoryview(data).cast("B")
            step = 1 << 30
            for start in range(0, len(view), step):
                piece = bytes(view[start:start + step])
                crc = ~function(piece, len(piece), ~crc & 0xFFFFFFFF) & 0xFFFFFFFF
            return crc
        sample = bytes(range(256)) * 3 + b"123456789"
        if crc32c_isal(b"123456789") == 0xE3069283 and \
                crc32c_isal(sample[5:], crc32c_isal(sample[:5])) == crc32c_python(sample):
            return crc32c_isal
    return None


crc32c = isal_crc32c() or crc32c_python


def rfc3339(ns):
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ns // 10**9)) + \
        f".{ns // 10**6 % 1000:03d}Z"


class Storage:
    def __init__(self, bench):
        self.bench, self.root = bench, bench.storage_root
        self.lock = threading.Lock()
        self.meta = {}     # (bucket, name) -> {"generation", "contentType"}
        self.hashes = {}   # path -> ((size, mtime_ns), crc32c b64, md5 b64)
        self.sessions = {}  # upload_id -> dict
        self.uploads = self.root.parent / "uploads"
        self.uploads.mkdir(parents=True, exist_ok=True)
        self.clock = itertools.count(time.time_ns() // 1000)

    # ---- names and files ----
    def bucket_dir(self, bucket):
        if not BUCKET_NAME.match(bucket) or ".." in bucket:
            raise GoogleError(400, "INVALID_ARGUMENT", f"Invalid bucket name: '{bucket}'")
        path = self.root / bucket
        if not path.is_dir():
            raise GoogleError(404, "NOT_FOUND", "The specified bucket does not exist.")
        return path

    def object_path(self, bucket, name):
        parts = name.split("/")
        if not name or "\0" in name or any(p in ("", ".", "..") for p in parts):
            raise GoogleError(400, "INVALID_ARGUMENT", f"The bench cannot store an object "
                              f"named {name!r} as a file")
        base = self.bucket_dir(bucket)
        path = base.joinpath(*parts)
        if not os.path.realpath(path).startswith(os.path.realpath(base) + os.sep):
            raise GoogleError(400, "INVALID_ARGUMENT", f"object {name!r} leaves its bucket")
        return path

    def existing(self, bucket, name):
        try:
            path = self.object_path(bucket, name)
        except GoogleError as error:
            if error.code != 400:
                raise
            path = None  # no file can have the name: no such object
        if path is None or not path.is_file() or path.is_symlink():
            raise GoogleError(404, "NOT_FOUND", f"No such object: {bucket}/{name}")
        return path

    def digests(self, path):
        stat = path.stat()
        key = (stat.st_size, stat.st_mtime_ns)
        with self.lock:
            cached = self.hashes.get(str(path))
        if cached and cached[0] == key:
            return cached[1], cached[2]
        crc, md5 = 0, hashlib.md5()
        with open(path, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                crc = crc32c(block, crc)
                md5.update(block)
        result = (base64.b64encode(crc.to_bytes(4, "big")).decode(),
                  base64.b64encode(md5.digest()).decode())
        with self.lock:
            self.hashes[str(path)] = (key, *result)
        return result

    def resource(self, request, bucket, name, path):
        stat = path.stat()
        with self.lock:
            meta = self.meta.get((bucket, name), {})
        generation = str(meta.get("generation", stat.st_mtime_ns // 1000))
        crc, md5 = self.digests(path)
        host = request.headers.get("Host", "127.0.0.1")
        quoted = urllib.parse.quote(name, safe="")
        stamp = rfc3339(stat.st_mtime_ns)
        return {"kind": "storage#object", "id": f"{bucket}/{name}/{generation}",
                "selfLink": f"http://{host}/storage/v1/b/{bucket}/o/{quoted}",
                "mediaLink": f"http://{host}/download/storage/v1/b/{bucket}/o/{quoted}"
                             f"?generation={generation}&alt=media",
                "name": name, "bucket": bucket, "generation": generation,
                "metageneration": "1", "storageClass": "STANDARD", "size": str(stat.st_size),
                "contentType": meta.get("contentType", "application/octet-stream"),
                "md5Hash": md5, "crc32c": crc, "etag": base64.b64encode(
                    generation.encode()).decode(), "timeCreated": stamp, "updated": stamp,
                "timeStorageClassUpdated": stamp}

    def commit(self, temporary, bucket, name, content_type):
        """Move a finished upload into place as object NAME."""
        path = self.object_path(bucket, name)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            if path.is_dir():
                raise NotADirectoryError(str(path))
            os.replace(temporary, path)
        except (NotADirectoryError, FileExistsError, IsADirectoryError):
            os.unlink(temporary)
            raise GoogleError(409, "CONFLICT", f"object {name!r} collides with another "
                              "object's folder in the bench's files") from None
        with self.lock:
            self.meta[(bucket, name)] = {"generation": next(self.clock),
                                         "contentType": content_type or
                                         "application/octet-stream"}
        return path

    def new_temporary(self):
        return self.uploads / secrets.token_hex(12)

    # ---- JSON API ----
    def get_bucket(self, bucket):
        self.bucket_dir(bucket)
        stamp = rfc3339(int((self.root / bucket).stat().st_mtime_ns))
        return {"kind": "storage#bucket", "id": bucket, "name": bucket,
                "selfLink": f"/storage/v1/b/{bucket}", "projectNumber": "1",
                "metageneration": "1", "location": "US", "storageClass": "STANDARD",
                "etag": "CAE=", "timeCreated": stamp, "updated": stamp,
                "locationType": "multi-region"}

    def names(self, bucket):
        base = self.bucket_dir(bucket)
        found = []
        for top, _dirs, files in os.walk(base):
            for file in files:
                full = os.path.join(top, file)
                if not os.path.islink(full):
                    found.append(os.path.relpath(full, base).replace(os.sep, "/"))
        return sorted(found)

    def list_objects(self, request, bucket):
        query = request.query
        prefix, delimiter = query.get("prefix", ""), query.get("delimiter", "")
        size = max(1, min(int(query.get("maxResults") or 1000), 1000))
        after = ""
        if query.get("pageToken"):
            try:
                after = base64.urlsafe_b64decode(query["pageToken"]).decode()
            except ValueError:
                raise GoogleError(400, "INVALID_ARGUMENT", "Invalid page token.") from None
        entries = {}
        for name in self.names(bucket):
            if not name.startswith(prefix):
                continue
            cut = name.find(delimiter, len(prefix)) if delimiter else -1
            if cut >= 0:
                entries.setdefault(name[:cut + len(delimiter)], None)
            else:
                entries[name] = name
        keys = sorted(k for k in entries if k > after)
        page = keys[:size]
        answer = {"kind": "storage#objects"}
        items = [self.resource(request, bucket, k, self.root / bucket / k)
                 for k in page if entries[k] is not None]
        prefixes = [k for k in page if entries[k] is None]
        if items:
            answer["items"] = items
        if prefixes:
            answer["prefixes"] = prefixes
        if len(keys) > size:
            answer["nextPageToken"] = base64.urlsafe_b64encode(page[-1].encode()).decode()
        return answer

    def get_object(self, request, bucket, name, media=False):
        path = self.existing(bucket, name)
        if request.query.get("alt") == "media" or media:
            return self.media(request, bucket, name, path)
        return self.resource(request, bucket, name, path)

    def media(self, request, bucket, name, path):
        data = path.read_bytes()
        resource = self.resource(request, bucket, name, path)
        headers = {"x-goog-hash": [f"crc32c={resource['crc32c']}", f"md5={resource['md5Hash']}"],
                   "x-goog-generation": resource["generation"], "x-goog-metageneration": "1",
                   "x-goog-stored-content-length": str(len(data)),
                   "x-goog-stored-content-encoding": "identity", "Accept-Ranges": "bytes"}
        status, body = 200, data
        wanted = request.headers.get("Range")
        if wanted:
            found = re.fullmatch(r"bytes=(\d*)-(\d*)", wanted.strip())
            if not found or (not found.group(1) and not found.group(2)):
                raise GoogleError(400, "INVALID_ARGUMENT", f"bad Range {wanted!r}")
            if found.group(1):
                first = int(found.group(1))
                last = min(int(found.group(2)), len(data) - 1) if found.group(2) \
                    else len(data) - 1
            else:
                first, last = max(0, len(data) - int(found.group(2))), len(data) - 1
            if first >= len(data) or first > last:
                return Response(416, b"", {"Content-Range": f"bytes */{len(data)}"},
                                content_type="text/plain")
            status, body = 206, data[first:last + 1]
            headers["Content-Range"] = f"bytes {first}-{last}/{len(data)}"
        with self.bench.lock:
            corrupt = self.bench.faults.get("corrupt_object") == f"{bucket}/{name}"
            if corrupt:
                del self.bench.faults["corrupt_object"]
        if corrupt and body:
            body = bytes([body[0] ^ 0xFF]) + body[1:]
        return Response(status, body, headers, content_type=resource["contentType"])

    def delete_object(self, bucket, name):
        path = self.existing(bucket, name)
        path.unlink()
        with self.lock:
            self.meta.pop((bucket, name), None)
        return Response(204, b"", content_type=None)

    # ---- uploads ----
    def receive(self, request, temporary, append=False, limit=None):
        """Copy the request body into TEMPORARY; cut after LIMIT bytes (a fault)."""
        left, got = request.length, 0
        with open(temporary, "ab" if append else "wb") as f:
            while left > 0:
                block = request.rfile.read(min(left, 1 << 20))
                if not block:
                    raise ConnectionResetError("the client went away")
                if limit is not None and got + len(block) > limit:
                    raise ConnectionResetError("bench fault: break_upload_after")
                f.write(block)
                got += len(block)
                left -= len(block)
        return got

    def insert(self, request, bucket):
        self.bucket_dir(bucket)
        kind = request.query.get("uploadType", "media")
        if kind == "resumable":
            return self.start_resumable(request, bucket)
        temporary = self.new_temporary()
        try:
            self.receive(request, temporary)
            if kind == "multipart":
                metadata, content_type = self.split_multipart(request, temporary)
            elif kind == "media":
                metadata = {}
                content_type = request.headers.get("Content-Type")
            else:
                raise GoogleError(400, "INVALID_ARGUMENT", f"uploadType {kind!r} is not "
                                  "supported by the bench")
            name = request.query.get("name") or metadata.get("name")
            if not name:
                raise GoogleError(400, "INVALID_ARGUMENT", "Required parameter: name")
            request.note["object"] = name
            path = self.commit(temporary, bucket, name,
                               metadata.get("contentType") or content_type)
        finally:
            if temporary.exists():
                temporary.unlink()
        return self.resource(request, bucket, name, path)

    def split_multipart(self, request, temporary):
        """multipart/related: JSON metadata, then the data (rewritten in place)."""
        # apitools (gcloud) quotes the boundary with single quotes
        found = re.search(r"""boundary=(?:"([^"]+)"|'([^']+)'|([^;\s]+))""",
                          request.headers.get("Content-Type", ""))
        if not found:
            raise GoogleError(400, "INVALID_ARGUMENT", "multipart upload without a boundary")
        marker = b"--" + next(g for g in found.groups() if g).encode()
        parts = temporary.read_bytes().split(marker)[1:-1]
        if len(parts) != 2:
            raise GoogleError(400, "INVALID_ARGUMENT", "a multipart upload has two parts")
        sections = []
        for part in parts:  # headers end at an empty line, CRLF or LF as senders write
            part = part[2:] if part.startswith(b"\r\n") else part[1:]
            head, _, body = re.split(rb"(\r?\n\r?\n)", part, maxsplit=1)
            body = body[:-2] if body.endswith(b"\r\n") else body[:-1] \
                if body.endswith(b"\n") else body
            sections.append((head.decode("latin-1").lower(), body))
        try:
            metadata = json.loads(sections[0][1] or b"{}")
        except ValueError:
            raise GoogleError(400, "INVALID_ARGUMENT", "the metadata part is not JSON") from None
        self.bench.spec.check("storage.objects.insert", {}, metadata)
        temporary.write_bytes(sections[1][1])
        found = re.search(r"content-type:\s*([^\r\n]+)", sections[1][0])
        return metadata, found.group(1).strip() if found else None

    def start_resumable(self, request, bucket):
        raw = request.rfile.read(request.length) if request.length else b""
        metadata = {}
        if raw.strip():
            try:
                metadata = json.loads(raw)
            except ValueError:
                raise GoogleError(400, "INVALID_ARGUMENT", "the metadata is not JSON") from None
            self.bench.spec.check("storage.objects.insert", {}, metadata)
        name = request.query.get("name") or metadata.get("name")
        if not name:
            raise GoogleError(400, "INVALID_ARGUMENT", "Required parameter: name")
        request.note["object"] = name  # the request log shows which upload this is
        self.object_path(bucket, name)
        upload_id = "bench-" + secrets.token_urlsafe(18)
        temporary = self.new_temporary()
        temporary.write_bytes(b"")
        with self.lock:
            self.sessions[upload_id] = {
                "bucket": bucket, "name": name, "temporary": temporary, "received": 0,
                "contentType": metadata.get("contentType") or
                request.headers.get("X-Upload-Content-Type")}
        host = request.headers.get("Host", "127.0.0.1")
        location = (f"http://{host}/upload/storage/v1/b/{bucket}/o?uploadType=resumable&"
                    f"name={urllib.parse.quote(name, safe='')}&upload_id={upload_id}")
        return Response(200, b"", {"Location": location, "X-GUploader-UploadID": upload_id},
                        content_type="text/plain")

    def session(self, request):
        with self.lock:
            found = self.sessions.get(request.query.get("upload_id", ""))
        if found is None:
            raise GoogleError(404, "NOT_FOUND", "No such upload session")
        return found

    def cancel_resumable(self, request):
        session = self.session(request)
        with self.lock:
            self.sessions.pop(request.query["upload_id"], None)
        session["temporary"].unlink(missing_ok=True)
        return Response(499, b"", content_type="text/plain")

    def put_chunk(self, request):
        session = self.session(request)
        spec = CONTENT_RANGE.match(request.headers.get("Content-Range", "bytes */*").strip())
        if not spec:
            raise GoogleError(400, "INVALID_ARGUMENT", "Failed to parse Content-Range header.")
        first, last, total = spec.groups()
        total = None if total == "*" else int(total)
        received = session["received"]
        if first is not None:
            first, last = int(first), int(last)
            if first > received or last - first + 1 != request.length:
                raise GoogleError(400, "INVALID_ARGUMENT", f"Invalid request. According to the "
                                  f"Content-Range header, the upload offset is {first} "
                                  f"byte(s), which exceeds already uploaded size of "
                                  f"{received} byte(s).")
            final = total is not None and last + 1 == total
            if not final and request.length % QUANTUM:
                raise GoogleError(400, "INVALID_ARGUMENT", f"Invalid request. The number of "
                                  f"bytes uploaded is required to be equal or greater than "
                                  f"{QUANTUM}, except for the final request (it's recommended "
                                  f"to be the exact multiple of {QUANTUM}). The received "
                                  f"request contained {request.length} bytes, which does "
                                  "not meet this requirement.")
            self.append_chunk(request, session, received - first)
        elif request.length:
            raise GoogleError(400, "INVALID_ARGUMENT", "a status query has no body")
        received = session["received"]
        if total is not None and received == total:
            return self.finish(request, session)
        if total is not None and received > total:
            raise GoogleError(400, "INVALID_ARGUMENT", "more bytes than the upload's size")
        headers = {"Range": f"bytes=0-{received - 1}"} if received else {}
        return Response(308, b"", headers, content_type="text/plain")

    def append_chunk(self, request, session, overlap):
        with self.bench.lock:
            limit = self.bench.faults.pop("break_upload_after", None)
        chunk = self.new_temporary()
        try:
            self.receive(request, chunk, limit=None if limit is None else int(limit))
            with open(chunk, "rb") as source, open(session["temporary"], "ab") as target:
                source.seek(overlap)
                for block in iter(lambda: source.read(1 << 20), b""):
                    target.write(block)
            session["received"] = session["temporary"].stat().st_size
        except ConnectionResetError:
            request.handler.close_connection = True
            request.handler.connection.shutdown(2)  # the cut the fault asked for
            raise
        finally:
            chunk.unlink(missing_ok=True)

    def finish(self, request, session):
        with self.lock:
            self.sessions.pop(request.query["upload_id"], None)
        path = self.commit(session["temporary"], session["bucket"], session["name"],
                           session["contentType"])
        return self.resource(request, session["bucket"], session["name"], path)


# ---- the service ----
def start(bench):
    bench.storage = Storage(bench)


def routes(bench):
    store = bench.storage
    obj = BUCKET + r"/o/(?P<object>.+)$"

    def name(request):
        return request.groups["bucket"], request.groups["object"]

    return [
        Route("GET", BUCKET + "$", "storage.buckets.get",
              lambda r: store.get_bucket(r.groups["bucket"])),
        Route("GET", BUCKET + "/o$", "storage.objects.list",
              lambda r: store.list_objects(r, r.groups["bucket"])),
        Route("GET", obj, "storage.objects.get", lambda r: store.get_object(r, *name(r))),
        Route("DELETE", obj, "storage.objects.delete",
              lambda r: store.delete_object(*name(r))),
        Route("GET", "/download" + obj, "storage.objects.get",
              lambda r: store.get_object(r, *name(r), media=True)),
        Route("POST", UPLOAD, "storage.objects.insert",
              lambda r: store.insert(r, r.groups["bucket"]), stream=True),
        # The session URI's upload_id is no discovery parameter: checked here.
        Route("PUT", UPLOAD, None, store.put_chunk, stream=True),
        Route("DELETE", UPLOAD, None, store.cancel_resumable),
    ]
