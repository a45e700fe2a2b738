"""The `ollama` command line (cmd/cmd.go NewCLI and handlers). TEST FIXTURE.

Errors print as cobra does (`Error: <message>` on stderr, exit status 1). Client commands
first check the server with HEAD / like upstream's checkServerHeartbeat.
"""

from __future__ import annotations

import hashlib
import os
import sys
from collections.abc import Callable

from . import modelfile
from .buildinfo import VERSION
from .client import APIError, Client
from .cliformat import Progress, human_bytes, human_time, table
from .gocompat import GoError

USAGE = """Usage:
  ollama [flags]
  ollama [command]

Available Commands:
  serve       Start ollama
  create      Create a model
  show        Show information for a model
  run         Run a model
  stop        Stop a running model
  pull        Pull a model from a registry
  push        Push a model to a registry
  list        List models
  ps          List running models
  cp          Copy a model
  rm          Remove a model
  help        Help about any command

Flags:
  -h, --help      help for ollama
  -v, --version   Show version information

Use "ollama [command] --help" for more information about a command.
"""
NOT_RESPONDING = ("ollama server not responding - could not connect to ollama server, "
                  "run 'ollama serve' to start it")


class CLIError(Exception):
    pass


def _flags(args: list[str], bools: dict[str, str], values: dict[str, str]
           ) -> tuple[list[str], dict[str, str | bool]]:
    """pflag-style parsing; maps short and long spellings to one key."""
    pos: list[str] = []
    out: dict[str, str | bool] = {}
    it = iter(args)
    for a in it:
        if a == "--":
            pos += list(it)
            break
        if not a.startswith("-") or a == "-":
            pos.append(a)
            continue
        flag, eq, val = a.partition("=")
        if flag in bools:
            out[bools[flag]] = True
        elif flag in values:
            value = val if eq else next(it, None)
            if value is None:
                raise CLIError(f"flag needs an argument: {flag}")
            out[values[flag]] = value
        elif flag.startswith("--"):
            raise CLIError(f"unknown flag: {flag}")
        else:
            raise CLIError(f"unknown shorthand flag: '{flag[1:2]}' in {a}")
    return pos, out


def _exact(args: list[str], n: int) -> None:
    if len(args) != n:
        raise CLIError(f"accepts {n} arg(s), received {len(args)}")


def _client() -> Client:
    """ClientFromEnvironment plus checkServerHeartbeat."""
    c = Client()
    try:
        c.heartbeat()
    except APIError as e:
        if " refused" in str(e) or "could not connect" in str(e):
            raise CLIError(NOT_RESPONDING) from e
        raise
    return c


def cmd_version(_args: list[str]) -> int:
    server = ""
    try:
        server = Client().version()
    except (APIError, ValueError):
        print("Warning: could not connect to a running Ollama instance")
    if server:
        print(f"ollama version is {server}")
    if server != VERSION:
        print(f"Warning: client version is {VERSION}")
    return 0


def cmd_serve(args: list[str]) -> int:
    from . import serve

    return serve.run()


def _digest(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return f"sha256:{h.hexdigest()}"


def cmd_create(args: list[str]) -> int:
    pos, fl = _flags(args, {}, {"-f": "file", "--file": "file", "-q": "quantize",
                                "--quantize": "quantize"})
    _exact(pos, 1)
    c = _client()
    path = os.path.abspath(str(fl.get("file") or "Modelfile"))
    # Upstream falls back to "FROM ." when the Modelfile cannot be stat'ed.
    text = "FROM .\n"
    if os.path.exists(path):
        with open(path, "rb") as f:
            text = modelfile.decode(f.read())
    cmds = modelfile.parse(text)
    progress = Progress()
    progress({"status": "gathering model components"})
    req = modelfile.create_request(cmds, os.path.dirname(path) if os.path.exists(path) else ".")
    body = dict(req.body, model=pos[0])
    if fl.get("quantize"):
        body["quantize"] = fl["quantize"]
    for key, paths in (("files", req.files), ("adapters", req.adapters),
                       ("draft_files", req.drafts)):
        uploaded: dict[str, str] = {}
        for p in paths:
            digest = _digest(p)
            with open(p, "rb") as f:
                c.do("POST", f"/api/blobs/{digest}", raw=f)
            progress.line(f"copying file {digest} 100%")
            uploaded[os.path.basename(p)] = digest
        if uploaded:
            body[key] = uploaded
    c.stream("/api/create", body, progress)
    return 0


def _show_info(resp: dict) -> str:
    out: list[str] = []

    def section(title: str, rows: list[list[str]]) -> None:
        out.append(f"  {title}\n" + table(rows) + "\n")

    d, info = resp.get("details") or {}, resp.get("model_info")
    rows = []
    if info:
        arch = str(info.get("general.architecture", ""))
        rows += [["", "architecture", arch], ["", "parameters", d.get("parameter_size", "")]]
        for key, label in (("context_length", "context length"),
                           ("embedding_length", "embedding length")):
            if f"{arch}.{key}" in info:
                rows.append(["", label, str(info[f"{arch}.{key}"])])
    else:
        rows += [["", "architecture", d.get("family", "")],
                 ["", "parameters", d.get("parameter_size", "")]]
    rows.append(["", "quantization", d.get("quantization_level", "")])
    section("Model", rows)
    if resp.get("capabilities"):
        section("Capabilities", [["", c] for c in resp["capabilities"]])
    if resp.get("parameters"):
        section("Parameters", [["", *line.split()] for line in resp["parameters"].splitlines()
                               if line.strip()])
    for key, title in (("system", "System"), ("license", "License")):
        lines = [ln.strip() for ln in resp.get(key, "").splitlines() if ln.strip()]
        if lines:
            section(title, [["", ln] for ln in lines[:2]] + ([["", "..."]] if len(lines) > 2
                                                               else []))
    return "".join(out)


def cmd_show(args: list[str]) -> int:
    kinds = ("license", "modelfile", "parameters", "system", "template")
    bools = {f"--{k}": k for k in kinds} | {"-v": "verbose", "--verbose": "verbose"}
    pos, fl = _flags(args, bools, {})
    _exact(pos, 1)
    chosen = [k for k in kinds if fl.get(k)]
    if len(chosen) > 1:
        raise CLIError("only one of '--license', '--modelfile', '--parameters', '--system', "
                       "or '--template' can be specified")
    resp = _client().do("POST", "/api/show", {"name": pos[0], "verbose": bool(fl.get("verbose"))})
    if not chosen:
        sys.stdout.write(_show_info(resp))
    elif chosen[0] in ("system", "template"):
        sys.stdout.write(resp.get(chosen[0], ""))
    else:
        print(resp.get(chosen[0], ""))
    return 0


def cmd_list(args: list[str]) -> int:
    _flags(args, {}, {})
    resp = _client().do("GET", "/api/tags")
    rows = [[m["name"], m["digest"][:12], human_bytes(int(m["size"])),
             human_time(m.get("modified_at", ""))]
            for m in resp.get("models") or []
            if not args or m["name"].lower().startswith(args[0].lower())]
    sys.stdout.write(table(rows, ["NAME", "ID", "SIZE", "MODIFIED"]))
    return 0


def cmd_ps(args: list[str]) -> int:
    _flags(args, {}, {})
    resp = _client().do("GET", "/api/ps")
    rows = [[m["name"], m["digest"][:12], human_bytes(int(m["size"])), "100% CPU",
             str(m.get("context_length", 0)), human_time(m.get("expires_at", ""))]
            for m in resp.get("models") or []]
    sys.stdout.write(table(rows, ["NAME", "ID", "SIZE", "PROCESSOR", "CONTEXT", "UNTIL"]))
    return 0


def cmd_pull(args: list[str]) -> int:
    pos, fl = _flags(args, {"--insecure": "insecure"}, {})
    _exact(pos, 1)
    _client().stream("/api/pull", {"name": pos[0], "insecure": bool(fl.get("insecure"))},
                     Progress(skip_zero=True))
    return 0


def cmd_rm(args: list[str]) -> int:
    pos, _ = _flags(args, {}, {})
    if not pos:
        raise CLIError("requires at least 1 arg(s), only received 0")
    c = _client()
    for name in pos:
        c.do("DELETE", "/api/delete", {"name": name})
        print(f"deleted '{name}'")
    return 0


def cmd_cp(args: list[str]) -> int:
    pos, _ = _flags(args, {}, {})
    _exact(pos, 2)
    _client().do("POST", "/api/copy", {"source": pos[0], "destination": pos[1]})
    print(f"copied '{pos[0]}' to '{pos[1]}'")
    return 0


def cmd_run(args: list[str]) -> int:
    pos, _ = _flags(args, {"--verbose": "verbose", "--insecure": "insecure"},
                    {"--keepalive": "keepalive", "--format": "format"})
    if not pos:
        raise CLIError("requires at least 1 arg(s), only received 0")
    c = _client()
    prompt = " ".join(pos[1:])
    if not prompt and not sys.stdin.isatty():
        prompt = sys.stdin.read()
    c.stream("/api/generate", {"model": pos[0], "prompt": prompt},
             lambda m: sys.stdout.write(m.get("response", "")))
    if prompt:
        print("\n")
    return 0


COMMANDS: dict[str, Callable[[list[str]], int]] = {
    "serve": cmd_serve, "start": cmd_serve, "create": cmd_create, "show": cmd_show,
    "run": cmd_run, "pull": cmd_pull, "list": cmd_list, "ls": cmd_list, "ps": cmd_ps,
    "cp": cmd_cp, "rm": cmd_rm,
}


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if not args or args[0] in ("-h", "--help", "help"):
        sys.stdout.write(USAGE)
        return 0
    if args[0] in ("-v", "--version"):
        return cmd_version(args[1:])
    handler = COMMANDS.get(args[0])
    if handler is None:
        print(f'Error: unknown command "{args[0]}" for "ollama"', file=sys.stderr)
        return 1
    try:
        return handler(args[1:])
    except (CLIError, APIError, modelfile.ModelfileError, GoError) as e:
        print(f"Error: {e}", file=sys.stderr)
        return 1
    except OSError as e:
        print(f"Error: {e.strerror or e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
