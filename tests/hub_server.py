"""A Hub-compatible HTTP server on 127.0.0.1 for tests: dataset repos in memory, with git-like commits.

It answers just what huggingface_hub calls to read a dataset repo and commit to it (repo info with
the head commit, tree listings, file resolve by HEAD and GET, preupload, commit), with the Hub's
error headers, so that huggingface_hub raises what it raises against the Hub. A commit whose
parentCommit is not the branch's head is refused with 412, as the Hub refuses it. Files are always
uploaded "regular" (inline in the commit), so no LFS endpoint is needed.

    with HubServer() as hub:
        hub.create_dataset("owner/queue")
        HfApi(endpoint=hub.url).dataset_info("owner/queue")
"""

from __future__ import annotations

import base64
import hashlib
import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit


def blob_oid(data: bytes) -> str:
    """Git's id of a file's content, as the Hub reports it for files that are not in LFS."""
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


@dataclass
class Repo:
    commits: dict[str, dict[str, bytes]] = field(default_factory=dict)
    """Every commit's files, by the commit's sha."""
    head: str = ""


@dataclass
class HubServer:
    """The server; `write_token` (when set) is the only token that may write, as on the Hub."""

    write_token: str | None = None
    repos: dict[str, Repo] = field(default_factory=dict)
    refused: list[str] = field(default_factory=list)
    """The stale parent of every commit refused with 412, in order."""
    downloads: list[str] = field(default_factory=list)
    """The path of every file sent by GET, in order."""
    lock: threading.Lock = field(default_factory=threading.Lock)
    gate: threading.Barrier | None = None
    held: int = 0

    def __enter__(self) -> HubServer:
        self.http = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self.thread = threading.Thread(target=self.http.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.http.shutdown()
        self.http.server_close()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.http.server_address[1]}"

    def create_dataset(self, repo_id: str) -> None:
        """A new dataset repo: one commit with a .gitattributes, as the Hub makes it."""
        self.repos[repo_id] = Repo()
        self.commit(repo_id, {".gitattributes": b"*.parquet filter=lfs diff=lfs merge=lfs -text\n"}, [], "init")

    def files(self, repo_id: str) -> dict[str, bytes]:
        """The files at the head of the repo's main branch."""
        repo = self.repos[repo_id]
        return dict(repo.commits[repo.head])

    def hold_commits(self, count: int) -> None:
        """Make the next `count` commits wait for each other before any is applied: their workers have all
        read the same head, so all but one are stale."""
        self.gate, self.held = threading.Barrier(count), count

    def commit(self, repo_id: str, added: dict[str, bytes], deleted: list[str], message: str) -> str:
        repo = self.repos[repo_id]
        files = dict(repo.commits.get(repo.head, {}))
        for path in deleted:
            files = {name: data for name, data in files.items() if name != path and not name.startswith(f"{path}/")}
        files.update(added)
        listing = "".join(f"{name} {blob_oid(data)}\n" for name, data in sorted(files.items()))
        sha = hashlib.sha1(f"tree\n{listing}parent {repo.head}\n\n{message}".encode()).hexdigest()
        repo.commits[sha] = files
        repo.head = sha
        return sha

    def resolve(self, repo_id: str, revision: str) -> str | None:
        repo = self.repos[repo_id]
        return repo.head if revision == "main" else revision if revision in repo.commits else None

    def apply_commit(self, repo_id: str, lines: list[dict[str, Any]]) -> tuple[int, dict[str, Any]]:
        """Check the parent and apply one commit; (status, body) of the answer."""
        header = lines[0]["value"]
        added = {op["value"]["path"]: base64.b64decode(op["value"]["content"]) for op in lines if op["key"] == "file"}
        deleted = [op["value"]["path"].rstrip("/") for op in lines if op["key"] in ("deletedFile", "deletedFolder")]
        with self.lock:
            gate, self.held = self.gate, max(self.held - 1, 0)
            self.gate = self.gate if self.held else None
        if gate is not None:
            gate.wait(timeout=10)
        with self.lock:
            parent = header.get("parentCommit")
            if parent is not None and parent != self.repos[repo_id].head:
                self.refused.append(parent)
                return 412, {"error": "A commit has happened since. Please refresh and try again."}
            sha = self.commit(repo_id, added, deleted, header["summary"])
        return 200, {"success": True, "commitOid": sha, "commitUrl": f"{self.url}/datasets/{repo_id}/commit/{sha}"}


def _tree(files: dict[str, bytes], folder: str, recursive: bool) -> list[dict[str, Any]] | None:
    """The tree entries under `folder` ("" for the root); None when it is not a folder."""
    prefix = f"{folder}/" if folder else ""
    under = {name[len(prefix) :]: data for name, data in files.items() if name.startswith(prefix)}
    if not under:
        return None
    entries, folders = [], set()
    for rest, data in sorted(under.items()):
        parts = rest.split("/")
        for depth in range(1, len(parts) if recursive else min(len(parts), 2)):
            folders.add("/".join(parts[:depth]))
        if recursive or len(parts) == 1:
            entries.append({"type": "file", "path": prefix + rest, "size": len(data), "oid": blob_oid(data)})
    entries += [{"type": "directory", "path": prefix + name, "oid": hashlib.sha1(name.encode()).hexdigest()}
                for name in sorted(folders)]  # fmt: skip
    return entries


def _handler(hub: HubServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as httpx expects of the Hub
        disable_nagle_algorithm = True  # headers and body go out in two writes: don't hold the second back

        def log_message(self, format: str, *args: object) -> None:  # quiet
            pass

        def do_GET(self) -> None:
            self.route("GET")

        def do_HEAD(self) -> None:
            self.route("HEAD")

        def do_POST(self) -> None:
            self.route("POST")

        def route(self, method: str) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            self.payload = self.rfile.read(length)  # read even when refused: the connection is kept alive
            url = urlsplit(self.path)
            parts = [unquote(p) for p in url.path.strip("/").split("/")]
            query = {key: values[-1] for key, values in parse_qs(url.query).items()}
            if parts[:2] == ["api", "datasets"] and len(parts) >= 4:
                self.api(method, "/".join(parts[2:4]), parts[4:], query)
            elif parts[:1] == ["datasets"] and len(parts) >= 6 and parts[3] == "resolve" and method in ("GET", "HEAD"):
                self.resolve_file(method, "/".join(parts[1:3]), parts[4], "/".join(parts[5:]))
            else:
                self.answer(404, {"error": f"no route {method} {url.path}"})

        def api(self, method: str, repo_id: str, rest: list[str], query: dict[str, str]) -> None:
            if repo_id not in hub.repos:
                return self.answer(404, {"error": "Repository not found"}, {"X-Error-Code": "RepoNotFound"})
            action, revision = [*rest, "", ""][:2]
            if method == "POST" and not self.may_write():
                return self.answer(401, {"error": "Invalid username or password."})
            if method == "GET" and action in ("", "revision"):
                sha = hub.resolve(repo_id, revision or "main")
                if sha is None:
                    return self.answer(404, {"error": "Invalid rev id"}, {"X-Error-Code": "RevisionNotFound"})
                siblings = [{"rfilename": name} for name in sorted(hub.repos[repo_id].commits[sha])]
                return self.answer(200, {"id": repo_id, "sha": sha, "private": False, "siblings": siblings})
            if method == "GET" and action == "tree":
                return self.tree(repo_id, revision, "/".join(rest[2:]), query.get("recursive", "").lower() == "true")
            if method == "POST" and action == "preupload":
                current = hub.files(repo_id)
                modes = [{"path": path, "uploadMode": "regular", "shouldIgnore": False,
                          "oid": blob_oid(current[path]) if path in current else None}
                         for path in (f["path"] for f in json.loads(self.payload)["files"])]  # fmt: skip
                return self.answer(200, {"files": modes})
            if method == "POST" and action == "commit" and revision == "main":
                lines = [json.loads(line) for line in self.payload.splitlines() if line.strip()]
                return self.answer(*hub.apply_commit(repo_id, lines))
            return self.answer(404, {"error": f"no route {method} {action}"})

        def tree(self, repo_id: str, revision: str, folder: str, recursive: bool) -> None:
            sha = hub.resolve(repo_id, revision)
            if sha is None:
                return self.answer(404, {"error": "Invalid rev id"}, {"X-Error-Code": "RevisionNotFound"})
            entries = _tree(hub.repos[repo_id].commits[sha], folder, recursive)
            if entries is None:
                return self.answer(404, {"error": f"{folder} does not exist"}, {"X-Error-Code": "EntryNotFound"})
            return self.answer(200, entries)

        def resolve_file(self, method: str, repo_id: str, revision: str, path: str) -> None:
            if repo_id not in hub.repos:
                return self.answer(404, {"error": "Repository not found"}, {"X-Error-Code": "RepoNotFound"})
            sha = hub.resolve(repo_id, revision)
            if sha is None:
                return self.answer(404, {"error": "Invalid rev id"}, {"X-Error-Code": "RevisionNotFound"})
            data = hub.repos[repo_id].commits[sha].get(path)
            if data is None:
                headers = {"X-Error-Code": "EntryNotFound", "X-Repo-Commit": sha}
                return self.answer(404, {"error": "Entry not found"}, headers)
            if method == "GET":
                hub.downloads.append(path)
            headers = {"X-Repo-Commit": sha, "ETag": f'"{blob_oid(data)}"', "Content-Type": "application/octet-stream"}
            self.send(200, data, headers, body=method == "GET")

        def may_write(self) -> bool:
            return hub.write_token is None or self.headers.get("Authorization") == f"Bearer {hub.write_token}"

        def answer(self, status: int, value: Any, headers: dict[str, str] | None = None) -> None:
            self.send(status, json.dumps(value).encode(), {"Content-Type": "application/json", **(headers or {})})

        def send(self, status: int, data: bytes, headers: dict[str, str], body: bool = True) -> None:
            self.send_response(status)
            for key, value in {**headers, "Content-Length": str(len(data))}.items():
                self.send_header(key, value)
            self.end_headers()
            if body:
                self.wfile.write(data)

    return Handler
