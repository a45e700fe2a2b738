"""`ollama serve` start-up, in upstream's order (cmd.RunServer, server.Serve). TEST FIXTURE.

Order matters to what the journal shows: key pair, listen, `server config` line, models dir
checks (`mkdir ...: permission denied` exits 1), prune, `Listening on ...`, compute discovery.
Test-only switches (documented in README.md, never present upstream):
    OLLAMA_STANDIN_FAIL_START=1   log a fatal error and exit 1 (a broken configuration)
    a release built with --broken  exits 1 the same way (a broken release)
"""

from __future__ import annotations

import base64
import os
import secrets
import signal
import socket
import struct
import sys
import threading
from types import FrameType

from . import discover, envconfig, server, slog
from .buildinfo import BROKEN, VERSION
from .goerrors import GoStyleError, errno_text, path_error
from .httpd import Server
from .store import Store, prune_directory

FAIL_START_ENV = "OLLAMA_STANDIN_FAIL_START"
_WILDCARDS = ("", "0.0.0.0", "::")


def _init_keypair() -> None:
    """initializeKeypair: ~/.ollama/id_ed25519 is created on first start.

    The files are placeholders with the right names, modes and public-key syntax; no real
    Ed25519 key is derived (nothing in the stand-in signs requests).
    """
    home = os.environ.get("HOME", "")
    if not home:
        raise GoStyleError("$HOME is not defined")
    priv = os.path.join(home, ".ollama", "id_ed25519")
    if os.path.exists(priv):
        return
    print(f"Couldn't find '{priv}'. Generating new private key.", flush=True)
    try:
        os.makedirs(os.path.dirname(priv), mode=0o755, exist_ok=True)
    except OSError as e:
        raise GoStyleError(f"could not create directory "
                           f"{path_error('mkdir', e.filename or priv, e)}") from e
    raw = secrets.token_bytes(32)
    wire = struct.pack(">I", 11) + b"ssh-ed25519" + struct.pack(">I", 32) + raw
    pub = b"ssh-ed25519 " + base64.b64encode(wire) + b"\n"
    pem = (b"-----BEGIN OPENSSH PRIVATE KEY-----\n"
           + base64.encodebytes(b"ollama-standin placeholder key\0" + raw)
           + b"-----END OPENSSH PRIVATE KEY-----\n")
    fd = os.open(priv, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(pem)
    with open(priv + ".pub", "wb") as f:
        f.write(pub)
    print(f"Your new public key is: \n\n{pub.decode()}", flush=True)


def _listen(h: envconfig.HostURL) -> tuple[Server, str, bool]:
    """net.Listen("tcp", host): returns the server, Go's ln.Addr() text, loopback flag."""
    port = int(h.port)
    handler = server.OllamaHandler  # rebound once the store is known
    if h.host in _WILDCARDS and socket.has_ipv6:
        try:
            srv = Server(("::", port), handler, socket.AF_INET6)
            return srv, f"[::]:{srv.server_address[1]}", False
        except OSError:
            if h.host == "::":
                raise
    infos = socket.getaddrinfo(h.host or "0.0.0.0", port, type=socket.SOCK_STREAM)
    infos.sort(key=lambda i: i[0] != socket.AF_INET)  # Go prefers IPv4 for names
    family, _, _, _, addr = infos[0]
    srv = Server((str(addr[0]), port), handler, family)
    ip = str(srv.server_address[0])
    shown = f"[{ip}]:{srv.server_address[1]}" if ":" in ip else f"{ip}:{srv.server_address[1]}"
    return srv, shown, ip in ("127.0.0.1", "::1") or ip.startswith("127.")


def _fatal(msg: str) -> int:
    print(f"Error: {msg}", file=sys.stderr, flush=True)
    return 1


def _prepare_store(st: Store, no_prune: bool) -> None:
    st.blobs_dir()
    st.fix_blobs()
    if no_prune:
        return
    try:
        st.manifests(continue_on_error=False)
    except GoStyleError as e:
        slog.warn("routes.go:1566", "corrupt manifests detected, skipping prune operation.  "
                  "Re-pull or delete to clear", error=str(e))
        return
    st.prune_layers()
    prune_directory(st.manifests_dir())


def _log_compute() -> None:
    """The start-up compute report (discover/runner.go, discover/types.go LogDetails)."""
    slog.info("runner.go:67", "discovering available GPUs...")
    lib_dir = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    devices = discover.gpus(lib_dir)
    for dev in sorted(devices, key=lambda d: -d.total):
        slog.info("types.go:42", "inference compute", id=dev.id, filter_id="",
                  library=dev.library, compute=dev.compute, name=f"{dev.library}{dev.index}",
                  description=dev.description, libdirs=f"ollama,{dev.libdir}",
                  driver=dev.driver, pci_id=dev.pci_id, type="discrete",
                  total=discover.human_bytes(dev.total),
                  available=discover.human_bytes(dev.total * 98 // 100))
    if not devices:
        total, available = discover.cpu_memory()
        slog.info("types.go:60", "inference compute", id="cpu", library="cpu", compute="",
                  name="cpu", description="cpu", libdirs="ollama", driver="", pci_id="",
                  type="", total=discover.human_bytes(total),
                  available=discover.human_bytes(available))
    vram = sum(d.total for d in devices)
    threshold = 20 * discover.GIB
    if vram < threshold:
        slog.info("routes.go:1648", "entering low vram mode", **{
            "total vram": discover.human_bytes(vram) if vram else "0 B",
            "threshold": discover.human_bytes(threshold)})


def _install_signals(srv: Server) -> None:
    def stop(_sig: int, _frame: FrameType | None) -> None:
        # shutdown() blocks until serve_forever returns, so it must run off the main thread.
        threading.Thread(target=srv.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)


def _refuse_start() -> int:
    """The two test-only failure modes: a fatal log line and exit status 1."""
    if not BROKEN:
        slog.error("routes.go:1555", "fatal start-up error (test fixture switch)",
                   key=FAIL_START_ENV)
        return _fatal(f"{FAIL_START_ENV} is set: refusing to start (test fixture)")
    lib = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                       "libggml-base.so")
    slog.error("server.go:123", "unable to load runtime library", path=lib,
               error="invalid ELF header (broken stand-in release, test fixture)")
    return _fatal(f"unable to load runtime library {lib}: invalid ELF header")


def run() -> int:
    """Returns the process exit status."""
    slog.set_level(envconfig.log_level())
    try:
        _init_keypair()
    except GoStyleError as e:
        return _fatal(str(e))
    h = envconfig.host()
    if envconfig.bool_var(FAIL_START_ENV) or BROKEN:
        slog.info("routes.go:1554", "server config", env=envconfig.format_map(envconfig.values()))
        return _refuse_start()
    try:
        srv, addr, loopback = _listen(h)
    except socket.gaierror:
        return _fatal(f"listen tcp: lookup {h.host}: no such host")
    except OSError as e:
        return _fatal(f"listen tcp {h.hostport}: bind: {errno_text(e)}")
    slog.info("routes.go:1554", "server config", env=envconfig.format_map(envconfig.values()))
    no_prune = envconfig.no_prune()
    try:
        st = Store(envconfig.models())
        _prepare_store(st, no_prune)
    except (GoStyleError, OSError, RuntimeError) as e:
        srv.server_close()
        return _fatal(str(e))
    srv.RequestHandlerClass = server.make_handler(st, loopback, no_prune)
    slog.info("routes.go:1607", f"Listening on {addr} (version {VERSION})")
    _log_compute()
    _install_signals(srv)
    srv.serve_forever(poll_interval=0.2)
    srv.server_close()
    return 0
