"""A Docker Registry v2 token service for tests: the `auth: token` realm a registry such as
CNCF Distribution sends clients to.

A client asks `GET <realm>?service=...&scope=repository:<name>:<actions>` with HTTP basic
credentials; valid credentials (one `user:password` line, the deploy's credentials file format)
get `{"token", "access_token", "expires_in"}`, a JWT (RS256) granting exactly the requested
scopes and signed by a key whose certificate is issued by the CA the registry trusts
(`auth.token.rootcertbundle`); the certificate travels in the JWT's `x5c` header. Anything
else gets 401. Every request is recorded, with the client's address and the token issued."""

from __future__ import annotations

import base64
import datetime
import json
import secrets
import ssl
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def tls_server(host: str, port: int, handler: type[BaseHTTPRequestHandler], tls_cert: Path,
               tls_key: Path) -> ThreadingHTTPServer:
    """A threading HTTPS server on host:port (not started)."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(str(tls_cert), str(tls_key))
    server = ThreadingHTTPServer((host, port), handler)
    server.daemon_threads = True
    server.socket = context.wrap_socket(server.socket, server_side=True)
    return server


def issue_signing_cert(ca_cert: Path, ca_key: Path, cert_out: Path) -> rsa.RSAPrivateKey:
    """A fresh RSA key and its certificate, issued by the CA in ca_cert/ca_key (PEM)."""
    ca = x509.load_pem_x509_certificate(ca_cert.read_bytes())
    signer = serialization.load_pem_private_key(ca_key.read_bytes(), password=None)
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME,
                                                        "lab token signer")]))
            .issuer_name(ca.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=2))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .sign(signer, hashes.SHA256()))  # type: ignore[arg-type]
    cert_out.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return key


@dataclass
class TokenRequest:
    client: str
    account: str | None  # the basic-auth user, None without (or with unreadable) credentials
    service: str
    scopes: list[str]
    status: int
    token: str | None = None
    granted: list[dict] = field(default_factory=list)


class TokenService:
    def __init__(self, *, host: str, port: int, credentials: Path, issuer: str, service: str,
                 signing_key: rsa.RSAPrivateKey, signing_cert: Path, tls_cert: Path,
                 tls_key: Path) -> None:
        self.issuer = issuer
        self.service = service
        self.credentials = credentials
        self.key = signing_key
        cert = x509.load_pem_x509_certificate(signing_cert.read_bytes())
        self.x5c = [base64.b64encode(cert.public_bytes(serialization.Encoding.DER)).decode()]
        self.requests: list[TokenRequest] = []
        self._lock = threading.Lock()
        self.server = tls_server(host, port, self._handler(), tls_cert, tls_key)
        self.url = f"https://{host}:{port}/token"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def log(self) -> list[TokenRequest]:
        with self._lock:
            return list(self.requests)

    def _account(self, header: str | None) -> str | None:
        scheme, _, value = (header or "").partition(" ")
        if scheme.lower() != "basic":
            return None
        try:
            user, _, password = base64.b64decode(value, validate=True).decode().partition(":")
        except (ValueError, UnicodeDecodeError):
            return None
        want_user, _, want_password = self.credentials.read_text().strip("\n").partition(":")
        ok = secrets.compare_digest(f"{user}:{password}".encode(),
                                    f"{want_user}:{want_password}".encode())
        return user if ok else None

    def token(self, account: str, scopes: list[str],
              issued: float | None = None) -> tuple[str, list[dict]]:
        """A token for these scopes, good for 300 s from `issued` (default: now)."""
        access = []
        for scope in scopes:  # type:name:actions, where the name may hold a colon (host:port)
            kind, _, rest = scope.partition(":")
            name, _, actions = rest.rpartition(":")
            access.append({"type": kind, "name": name,
                           "actions": [a for a in actions.split(",") if a]})
        now = int(time.time() if issued is None else issued)
        header = {"typ": "JWT", "alg": "RS256", "x5c": self.x5c}
        claims = {"iss": self.issuer, "sub": account, "aud": self.service, "exp": now + 300,
                  "nbf": now - 10, "iat": now, "jti": secrets.token_hex(16), "access": access}
        signing_input = ".".join(b64url(json.dumps(part, separators=(",", ":")).encode())
                                 for part in (header, claims))
        signature = self.key.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
        return f"{signing_input}.{b64url(signature)}", access

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        service = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def _send(self, status: int, body: dict, headers: dict[str, str]) -> None:
                raw = json.dumps(body, separators=(",", ":")).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                for key, value in headers.items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(raw)

            def do_GET(self) -> None:  # noqa: N802 - http.server's name
                url = urllib.parse.urlsplit(self.path)
                query = urllib.parse.parse_qs(url.query)
                entry = TokenRequest(
                    client=self.client_address[0],
                    account=service._account(self.headers.get("Authorization")),
                    service=(query.get("service") or [""])[0],
                    scopes=[s for value in query.get("scope", []) for s in value.split(" ")
                            if s],
                    status=0)
                if url.path != "/token":
                    entry.status = 404
                    self._send(404, {"errors": [{"code": "NOT_FOUND"}]}, {})
                elif entry.account is None:
                    entry.status = 401
                    self._send(401, {"errors": [{"code": "UNAUTHORIZED",
                                                 "message": "authentication required"}]},
                               {"WWW-Authenticate": 'Basic realm="lab token service"'})
                elif entry.service != service.service:
                    entry.status = 400
                    self._send(400, {"errors": [{"code": "UNSUPPORTED",
                                                 "message": "unknown service"}]}, {})
                else:
                    entry.status = 200
                    entry.token, entry.granted = service.token(entry.account, entry.scopes)
                    self._send(200, {"token": entry.token, "access_token": entry.token,
                                     "expires_in": 300}, {})
                with service._lock:
                    service.requests.append(entry)

        return Handler
