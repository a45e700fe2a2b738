"""Real systemd reads back exactly what the drop-in and EnvironmentFile templates wrote.

A transient oneshot unit of our own (nothing of the lead's tests is touched) gets the project's
real drop-in template with hostile-but-legal values, plus the real EnvironmentFile template;
it dumps its environment with `env -0`, and every variable must come back byte for byte.
"""

from __future__ import annotations

import base64
import shlex

import pytest
from ollama_fleet.render import env_name, render

from .conftest import lab_state, sh

pytestmark = pytest.mark.lab

UNIT = "ollama-fleet-escape-test.service"
UNIT_PATH = f"/run/systemd/system/{UNIT}"
DROPIN_PATH = f"/run/systemd/system/{UNIT}.d/ollama-fleet.conf"
SECRET_PATH = "/run/ollama-fleet-escape-test.env"
DUMP = "/run/ollama-fleet-escape-test.dump"
PWNED = "/tmp/ollama-fleet-escape-pwned"

VALUES = [
    "plain", "", " ", "  lead and trail  ", "it's", 'say "hi"', "'\"'\"'", "`id`",
    f"$(touch {PWNED})", f"`touch {PWNED}`", "${IFS}", "$HOME", "$$", "$", "a$b",
    "%n %i %%", "%", "100%", "\\", "\\\\", "\\n", "\\x41", "end\\", 'a\\"b', "#not a comment",
    "a;b", "a=b=c", "{{ x }} {% y %}", "é 中文 😀", "\u2019\u2018\u201c\u201d", "x" * 2000,
]


def host() -> str:
    return lab_state()["hosts"][-1]["name"]


def put(name: str, path: str, text: str) -> None:
    data = base64.b64encode(text.encode("utf-8")).decode("ascii")
    sh(name, f"mkdir -p {shlex.quote(path.rsplit('/', 1)[0])} && "
             f"echo {data} | base64 -d > {shlex.quote(path)}")


def cleanup(name: str) -> None:
    sh(name, f"systemctl stop {UNIT} 2>/dev/null; systemctl reset-failed {UNIT} 2>/dev/null; "
             f"rm -rf {UNIT_PATH} {UNIT_PATH}.d {SECRET_PATH} {DUMP} {PWNED}; "
             "systemctl daemon-reload")


def test_systemd_reads_back_every_value_exactly(lab) -> None:  # noqa: ANN001 - fixture
    name = host()
    cleanup(name)
    dropin_env = {f"ESC_{i}": v for i, v in enumerate(VALUES)}
    secret_env = {f"ESCF_{i}": v for i, v in enumerate(VALUES)}
    put(name, UNIT_PATH, "[Unit]\nDescription=ollama-fleet escaping check\n[Service]\n"
                         f"Type=oneshot\nExecStart=/bin/sh -c 'env -0 > {DUMP}'\n")
    put(name, DROPIN_PATH, render("linux/environment.dropin.j2", environment=dropin_env,
                                  secret_file=SECRET_PATH))
    put(name, SECRET_PATH, render("linux/secret.env.j2", environment=[
        (env_name(k), v) for k, v in secret_env.items()]))
    try:
        sh(name, f"systemctl daemon-reload && systemctl start {UNIT}")
        dump = base64.b64decode(sh(name, f"base64 -w0 {DUMP}"))
        environ = dict(item.split("=", 1) for item in dump.decode("utf-8").split("\0") if item)
        for key, value in {**dropin_env, **secret_env}.items():
            assert environ.get(key) == value, (key, value[:60], environ.get(key, "<unset>")[:60])
        assert sh(name, f"test -e {PWNED} && echo yes || echo no").strip() == "no"
    finally:
        cleanup(name)
