"""Models in an OCI registry the organisation already runs (Distribution, Harbor, Artifactory).

An Ollama model is an OCI-style image: a Docker v2 manifest whose config and layers are
content-addressed blobs. The same bytes that sit in a model store's ``manifests/`` and
``blobs/`` go into a registry unchanged, so a host can fetch them with plain HTTPS and verify
each blob against its digest, the way offline seeding does from the controller.

Where a model lives in the registry is derived from its name: ``qwen2.5:7b`` is
``<registry>/library/qwen2.5:7b``, ``team/tool:v1`` is ``<registry>/team/tool:v1`` and
``hf.co/org/model:q4`` is ``<registry>/hf.co/org/model:q4``; all in lower case, since Ollama
compares names without case and OCI repository names are lower case.

`push_model` is the one-time step that puts a model from a controller store into the registry
(standard library only): blob uploads (HEAD, then a monolithic POST + PUT ?digest=) and the
manifest last, with basic auth or the registry's bearer-token challenge.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import ssl
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from .model_names import DEFAULT_HOST, parse_model_name
from .model_source import StoredModel

MANIFEST_MEDIA_TYPE = "application/vnd.docker.distribution.manifest.v2+json"
# One path component of an OCI repository name (distribution/reference).
_COMPONENT = re.compile(r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*")
_TAG = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._-]{0,127}")


class RegistryError(Exception):
    """A registry operation failed; the message never holds a credential."""


@dataclass(frozen=True)
class Reference:
    repository: str  # e.g. library/qwen2.5
    tag: str

    def __str__(self) -> str:
        return f"{self.repository}:{self.tag}"


def registry_reference(name: str) -> Reference:
    """Where the model ``name`` lives in a registry (raises ValueError when OCI cannot name it)."""
    parsed = parse_model_name(name)
    parts = [parsed.namespace, parsed.model]
    if parsed.host.lower() != DEFAULT_HOST:
        parts.insert(0, parsed.host.replace(":", "-"))
    parts = [p.lower() for p in parts]
    for part in parts:
        if not _COMPONENT.fullmatch(part):
            raise ValueError(f"{name!r}: {part!r} cannot be part of an OCI repository name "
                             "(lower-case letters and digits, separated by ., _, __ or -)")
    tag = parsed.tag.lower()
    if not _TAG.fullmatch(tag):
        raise ValueError(f"{name!r}: tag {tag!r} is not an OCI tag")
    return Reference("/".join(parts), tag)


def read_credentials(path: Path) -> tuple[str, str]:
    """``user:password`` from the first line of a file; ValueError naming what is wrong (never
    the password)."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ValueError(f"cannot be read ({getattr(exc, 'strerror', None) or exc})") from None
    lines = [line for line in text.splitlines() if line.strip()]
    if len(lines) != 1:
        raise ValueError("must hold exactly one line user:password")
    user, sep, password = lines[0].partition(":")
    if not sep or not user or not password:
        raise ValueError("is not of the form user:password (both non-empty)")
    if any(ord(c) < 32 or ord(c) == 127 for c in lines[0]):
        raise ValueError("holds control characters")
    return user, password


def curl_config(user: str, password: str) -> bytes:
    """A curl --config file carrying the credentials, so they never appear on a command line."""
    value = f"{user}:{password}".replace("\\", "\\\\").replace('"', '\\"')
    return f'user = "{value}"\n'.encode()


# --- the one-time push from a controller store ----------------------------------------------

class _Client:
    def __init__(self, base_url: str, user: str, password: str, ca_file: str | None,
                 insecure: bool) -> None:
        parsed = urllib.parse.urlsplit(base_url)
        if parsed.scheme == "http" and not insecure:
            raise RegistryError(f"{base_url}: plain http is refused (use https, or --insecure)")
        if parsed.scheme not in ("http", "https") or not parsed.netloc:
            raise RegistryError(f"{base_url}: not an http(s) URL")
        self.base = base_url.rstrip("/")
        self.basic = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
        self.auth = self.basic
        self.context = ssl.create_default_context(cafile=ca_file)
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPSHandler(context=self.context))

    def request(self, method: str, url: str, data=None, headers=None,  # noqa: ANN001
                ok=(200,), retry_auth: bool = True):  # noqa: ANN001
        if not url.startswith(("http://", "https://")):
            url = self.base + url
        req = urllib.request.Request(url, data=data, method=method,
                                     headers={"Authorization": self.auth, **(headers or {})})
        try:
            with self.opener.open(req, timeout=600) as resp:
                return resp.status, resp.headers, resp.read()
        except urllib.error.HTTPError as exc:
            status, headers_, body = exc.code, exc.headers, exc.read()
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise RegistryError(f"{method} {_path(url)}: {reason}") from None
        if status == 401 and retry_auth:
            challenge = headers_.get("WWW-Authenticate", "")
            if challenge.lower().startswith("bearer ") and self._token(challenge):
                if hasattr(data, "seek"):
                    data.seek(0)
                return self.request(method, url, data, headers, ok, retry_auth=False)
        if status in ok:
            return status, headers_, body
        if status == 401:
            raise RegistryError(f"{method} {_path(url)}: 401 unauthorized: the registry refused "
                                "the credentials")
        if status == 404 and method in ("HEAD",):
            return status, headers_, body
        raise RegistryError(f"{method} {_path(url)}: HTTP {status} {_errors(body)}")

    def _token(self, challenge: str) -> bool:
        params = dict(re.findall(r'(\w+)="([^"]*)"', challenge))
        realm = params.pop("realm", None)
        if not realm:
            return False
        query = urllib.parse.urlencode({k: v for k, v in params.items()
                                        if k in ("service", "scope")})
        req = urllib.request.Request(realm + ("?" + query if query else ""),
                                     headers={"Authorization": self.basic})
        try:
            with self.opener.open(req, timeout=60) as resp:
                answer = json.loads(resp.read())
        except urllib.error.HTTPError as exc:
            raise RegistryError(f"token request to {_path(realm)}: HTTP {exc.code} (the "
                                "registry refused the credentials?)") from None
        except (urllib.error.URLError, OSError, ValueError) as exc:
            raise RegistryError(f"token request to {_path(realm)}: {exc}") from None
        token = answer.get("token") or answer.get("access_token")
        if not token:
            return False
        self.auth = f"Bearer {token}"
        return True


def _path(url: str) -> str:
    parts = urllib.parse.urlsplit(url)
    return f"{parts.scheme}://{parts.hostname}{':' + str(parts.port) if parts.port else ''}" \
           f"{parts.path}"


def _errors(body: bytes) -> str:
    try:
        errors = json.loads(body).get("errors") or []
        return "; ".join(f"{e.get('code')}: {e.get('message')}" for e in errors)[:300]
    except (ValueError, AttributeError):
        return ""


@dataclass
class PushResult:
    reference: Reference
    uploaded: int  # blobs uploaded
    present: int  # blobs the registry already had
    bytes_sent: int


def push_model(model: StoredModel, registry_url: str, user: str, password: str, *,
               ca_file: str | None = None, insecure: bool = False,
               name: str | None = None) -> PushResult:
    """Put a stored model's blobs (only those missing) and then its manifest into the registry,
    under the reference derived from ``name`` (default: the stored model's name)."""
    ref = registry_reference(name or model.name)
    client = _Client(registry_url, user, password, ca_file, insecure)
    repo = f"/v2/{ref.repository}"
    uploaded = present = sent = 0
    for blob in model.blobs:
        digest = "sha256:" + blob.hexdigest
        status, _, _ = client.request("HEAD", f"{repo}/blobs/{digest}", ok=(200,))
        if status == 200:
            present += 1
            continue
        _, headers, _ = client.request("POST", f"{repo}/blobs/uploads/", data=b"", ok=(202,))
        location = headers.get("Location")
        if not location:
            raise RegistryError(f"POST {repo}/blobs/uploads/: no Location in the answer")
        location = urllib.parse.urljoin(client.base + "/", location)
        location += ("&" if "?" in location else "?") + urllib.parse.urlencode(
            {"digest": digest})
        _check_digest(blob.path, blob.hexdigest)
        with blob.path.open("rb") as handle:
            client.request("PUT", location, data=handle, ok=(201, 204), headers={
                "Content-Type": "application/octet-stream", "Content-Length": str(blob.size)})
        uploaded += 1
        sent += blob.size
    client.request("PUT", f"{repo}/manifests/{ref.tag}", data=model.manifest, ok=(201, 200),
                   headers={"Content-Type": MANIFEST_MEDIA_TYPE})
    return PushResult(ref, uploaded, present, sent + len(model.manifest))


def _check_digest(path: Path, hexdigest: str) -> None:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    if digest.hexdigest() != hexdigest:
        raise RegistryError(f"{path}: its content does not match its name (sha256); the store "
                            "is corrupt; the manifest was not pushed")
