"""Real template contexts, captured by recording every render while the plan tests build plans."""

from __future__ import annotations

import contextlib
import importlib
import inspect
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import ollama_fleet.render as render_module


@contextmanager
def recording() -> Iterator[list[tuple[str, dict[str, Any]]]]:
    seen: list[tuple[str, dict[str, Any]]] = []
    original = render_module.render

    def spy(template: str, **context: Any) -> str:
        seen.append((template, context))
        return original(template, **context)

    # Every module calls render through its own reference: import them all, then patch them all.
    import pkgutil  # noqa: PLC0415
    import sys  # noqa: PLC0415

    import ollama_fleet  # noqa: PLC0415

    for info in pkgutil.walk_packages(ollama_fleet.__path__, "ollama_fleet."):
        if info.name not in ("ollama_fleet.settings_doc", "ollama_fleet.status"):
            importlib.import_module(info.name)

    patched = []
    for module in list(sys.modules.values()):
        name = getattr(module, "__name__", "")
        if not name.startswith("ollama_fleet"):
            continue
        for attr in ("render", "_render"):
            if getattr(module, attr, None) is original:
                patched.append((module, attr))
                setattr(module, attr, spy)
    try:
        yield seen
    finally:
        for module, attr in patched:
            setattr(module, attr, original)


def _run_plain_tests(module: Any) -> None:
    for name, func in vars(module).items():
        if not name.startswith("test_") or not callable(func):
            continue
        params = list(inspect.signature(func).parameters)
        if any(p != "tmp_path" for p in params) or hasattr(func, "pytestmark"):
            continue
        with tempfile.TemporaryDirectory() as tmp, contextlib.suppress(Exception):
            func(**({"tmp_path": Path(tmp)} if params else {}))  # only the contexts matter


def captured_contexts() -> list[tuple[str, dict[str, Any]]]:
    """(template, context) pairs from the Linux and Windows plan tests and extra scenarios."""
    import tests.unit.test_linux_plan as linux_plan  # noqa: PLC0415
    import tests.windows.test_deploy_plans as windows_plans  # noqa: PLC0415
    import tests.windows.test_powershell_scripts as ps_scripts  # noqa: PLC0415

    with recording() as seen:
        _run_plain_tests(linux_plan)
        _run_plain_tests(windows_plans)
        ps_scripts.rendered()
        _extra_linux_scenarios()
    return seen


def _extra_linux_scenarios() -> None:
    """Files the plan tests do not reach: the firewall and the auth proxy."""
    from ollama_fleet.linux import firewall, proxy  # noqa: PLC0415
    from ollama_fleet.linux.facts import parse_state  # noqa: PLC0415
    from ollama_fleet.settings import settings_from_data  # noqa: PLC0415

    secured = settings_from_data({
        "ollama_version": "0.13.5", "ollama_allow_networks": ["10.0.0.0/8", "fd00::/8"],
        "ollama_auth_proxy": {"bearer_tokens": ["tok-en$1-0123456789abcdef"],
                              "basic_users": {"ann": "pw-0123456789abcdef"}, "port": 9443}},
        "h1")
    firewall.files(secured)
    proxy.desired_files(secured, parse_state([]))
