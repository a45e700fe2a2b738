"""Hostile and mistaken settings: every one refused (or warned about) before any host is touched,
each problem naming the host, the setting, the value (secrets hidden) and what is accepted."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from contextlib import redirect_stderr
from pathlib import Path
from typing import Annotated, Any, Literal, get_args, get_origin

import pytest
from ollama_fleet import fleet, preflight, run
from ollama_fleet.settings import OllamaSettings, SettingsError, settings_from_data
from pydantic import BaseModel, SecretStr

ROOT = Path(__file__).resolve().parents[2]
BASE = {"ollama_version": "0.13.5"}
CONTROL = {
    "CR": "\r", "NUL": "\x00", "LF": "\n", "VT": "\x0b", "FF": "\x0c", "ESC": "\x1b",
    "DEL": "\x7f", "NEL": "\x85", "LS": "\u2028", "PS": "\u2029",
}


@pytest.fixture(autouse=True)
def _no_fleet_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.upper().startswith("OLLAMA_FLEET_"):
            monkeypatch.delenv(name)


def data(**values: object) -> dict[str, object]:
    return {**BASE, **{f"ollama_{k}": v for k, v in values.items()}}


def settings(**values: object) -> OllamaSettings:
    return settings_from_data(data(**values), "web1")


def problems(**values: object) -> list[str]:
    with pytest.raises(SettingsError) as caught:
        settings(**values)
    return caught.value.problems


def message(**values: object) -> str:
    return "\n".join(problems(**values))


# --- 1. clean strings, at any depth, checked before meaning ----------------------------------

def _strings_in(annotation: Any) -> bool:
    if annotation in (str, SecretStr):
        return True
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return True
    if get_origin(annotation) is Literal:
        return any(isinstance(arg, str) for arg in get_args(annotation))
    if get_origin(annotation) is Annotated:
        return _strings_in(get_args(annotation)[0])
    return any(_strings_in(arg) for arg in get_args(annotation))


STRING_FIELDS = [name for name, info in OllamaSettings.model_fields.items()
                 if _strings_in(info.annotation)]


def _hostile(field: str, char: str) -> list[Any]:
    """Values of the field's shape with the character inside a string, at each depth."""
    annotation = OllamaSettings.model_fields[field].annotation
    default = OllamaSettings.model_fields[field].default
    text = default if isinstance(default, str) and len(default) > 1 else "value"
    bad = text[:1] + char + text[1:]
    if field == "auth_proxy":
        return [{"bearer_tokens": ["t" * 8 + char + "t" * 8]},
                {"bearer_tokens": ["t" * 20], "listen": "0.0.0" + char + ".0"},
                {"basic_users": {"ad" + char + "min": "password"}},
                {"basic_users": {"admin": "pass" + char + "word"}}]
    if field == "custom_models":
        return [[{"name": "m" + char + "x", "from": "base"}],
                [{"name": "mx", "from": "base", "parameters": {"stop": "a" + char + "b"}}]]
    origin = get_origin(annotation)
    if origin is list:
        return [[bad]]
    if origin is dict:
        return [{"NAME": bad}, {"NA" + char + "ME": "value"}]
    return [bad]


@pytest.mark.parametrize("char_name", sorted(CONTROL))
@pytest.mark.parametrize("field", STRING_FIELDS)
def test_hostile_corpus_every_string_field_refuses_control_characters(
    field: str, char_name: str
) -> None:
    char = CONTROL[char_name]
    for value in _hostile(field, char):
        with pytest.raises(SettingsError) as caught:
            settings_from_data({**BASE, f"ollama_{field}": value}, "web2")
        text = str(caught.value)
        assert "host web2" in text
        assert f"ollama_{field}" in text
        assert f"U+{ord(char):04X}" in text, text
        assert char not in text.replace("\n  - ", ""), "the raw character reached the message"


def test_hostile_corpus_covers_the_fields_that_matter() -> None:
    for field in ("host", "keep_alive", "models_dir", "bin_link", "https_proxy", "extra_env",
                  "origins", "no_proxy", "auth_proxy", "custom_models", "archive_url",
                  "windows_install_dir", "rollout_batch", "platform"):
        assert field in STRING_FIELDS


@pytest.mark.parametrize("char", ["\r", "\x00", "\x1b", "\x85", "\u2028"])
def test_free_text_refuses_cr_nul_and_controls_but_keeps_newlines_and_tabs(char: str) -> None:
    ok = settings(models=["base"], custom_models=[{
        "name": "bot", "from": "base", "system": "line one\n\tline two",
        "messages": [{"role": "user", "content": "a\nb"}]}])
    assert ok.custom_models[0].system == "line one\n\tline two"
    for where in ("system", "template"):
        text = message(models=["base"], custom_models=[
            {"name": "bot", "from": "base", where: f"a{char}b"}])
        assert f"ollama_custom_models[0][{where}]" in text and f"U+{ord(char):04X}" in text
    text = message(models=["base"], custom_models=[{"name": "bot", "from": "base", "messages": [
        {"role": "user", "content": f"a{char}b"}]}])
    assert "[messages][0][content]" in text


@pytest.mark.parametrize(
    ("values", "phrase"),
    [
        ({"keep_alive": "30m\r"}, "carriage return (U+000D)"),
        ({"keep_alive": "5m\n"}, "line feed (U+000A)"),
        ({"keep_alive": " 5m"}, "leading or trailing whitespace"),
        ({"keep_alive": "'5m'"}, "wrapped in quotes"),
        ({"host": "127.0.0.1 "}, "leading or trailing whitespace"),
        ({"host": '"127.0.0.1"'}, "wrapped in quotes"),
        ({"models_dir": "/srv/models\t"}, "tab (U+0009)"),
        ({"https_proxy": "http://proxy:3128\n"}, "line feed"),
        ({"keep_alive": True}, "a boolean is not a duration"),
        ({"host": ""}, "empty"),
    ],
)
def test_the_exact_value_is_checked_never_a_stripped_copy(values: dict, phrase: str) -> None:
    assert phrase in message(**values)


def test_a_value_left_out_for_its_characters_is_not_also_reported_missing() -> None:
    assert problems(version="0.13.5\n") == [
        "host web1: ollama_version = '0.13.5\\n': contains a line feed (U+000A) (accepted: a "
        "release number like 0.13.5)"]


def test_extra_env_values_are_carried_byte_exact_but_single_line() -> None:
    odd = {"PADDED": "  padded  ", "QUOTED": '"q"', "SHELL": "$(id) `x` ; a && b"}
    assert settings(extra_env=odd).environment()["PADDED"] == "  padded  "
    text = message(extra_env={"NOTE": "x\rExecStartPre=+/bin/touch /tmp/PWNED"})
    assert "ollama_extra_env[NOTE]" in text and "carriage return (U+000D)" in text
    assert "the key has leading" in message(extra_env={" NOTE": "x"})


def test_direct_construction_is_guarded_too() -> None:
    with pytest.raises(ValueError, match="carriage return"):
        OllamaSettings(version="0.13.5", keep_alive="5m\r")


# --- 2. host names ----------------------------------------------------------------------------

@pytest.mark.parametrize("host", [
    "ollama$(touch${IFS}PWNED)", "a b", "host_name", "-leading.example", "[example.com]:80",
    "10.0.0.1;id", "http://x`id`:8080", "[::1", "exa mple:80",
])
def test_host_must_be_a_host_name_or_ip(host: str) -> None:
    text = message(host=host, expose_unauthenticated=True)
    assert "ollama_host" in text


@pytest.mark.parametrize("host", [
    "127.0.0.1", "localhost", "[::1]", "::1", "[::1]:8080", "http://127.0.0.1:8080", ":11434",
    "ollama-01.example.com:11434",
])
def test_host_accepts_names_and_ip_literals(host: str) -> None:
    settings(host=host, expose_unauthenticated=True)


def test_no_proxy_and_listen_are_host_names() -> None:
    assert settings(no_proxy=["*", ".corp", "*.corp.example", "10.0.0.0/8", "[::1]:80",
                              "registry:5000"]).no_proxy
    text = message(no_proxy=["ok.example", "$(id)", "a b"])
    assert "ollama_no_proxy[1]" in text and "ollama_no_proxy[2]" in text
    text = message(auth_proxy={"bearer_tokens": ["t" * 20], "listen": "$(id)"})
    assert "listen" in text and "not an IP address" in text


@pytest.mark.parametrize("origin", [
    "https://app.example.com", "http://localhost:3000", "https://*.example.com", "app://*",
    "*", "chrome-extension://abcdef", "http://10.0.0.5:*", "tauri://*",
])
def test_origins_accepts_what_ollama_accepts(origin: str) -> None:
    assert settings(origins=[origin]).origins == [origin]


@pytest.mark.parametrize(("origin", "phrase"), [
    ("app://x", "needs a '*'"), ("https://a.example/", "no path"), ("example.com", "scheme"),
    ("https://*.*.example", "only one *"), ("https://$(id)", "neither"), ("https://", "missing"),
    ("https://user@a.example", "credentials"),
])
def test_origins_refuses_what_is_not_an_origin(origin: str, phrase: str) -> None:
    text = message(origins=[origin])
    assert "ollama_origins[0]" in text and phrase in text


# --- 3. paths that cannot hurt ----------------------------------------------------------------

@pytest.mark.parametrize(("field", "path", "phrase"), [
    ("models_dir", "/etc", "/etc is a system directory: ollama-fleet chowns models_dir to the "
                           "service user, which would hand it /etc"),
    ("models_dir", "/", "system directory"),
    ("service_home", "/usr", "system directory"),
    ("install_dir", "/usr/local", "system directory"),
    ("install_dir", "/opt", "system directory"),
    ("install_dir", "/var/lib", "system directory"),
    ("models_dir", "/home", "system directory"),
    ("models_dir", "/lib64", "system directory"),
    ("models_dir", "/srv/models/", "trailing /"),
    ("models_dir", "/srv//models", "//"),
    ("models_dir", "/srv/./models", ". or .."),
    ("models_dir", "/srv/../etc", ". or .."),
    ("models_dir", "srv/models", "absolute"),
    ("models_dir", "/proc/self", "virtual or volatile"),
    ("install_dir", "/tmp/ollama", "virtual or volatile"),
    ("bin_link", "/bin/sh", "must start with 'ollama'"),
    ("bin_link", "/usr/local/bin/python3", "must start with 'ollama'"),
    ("bin_link", "/usr/bin/ollama", "distribution's packages"),
    ("bin_link", "/usr/local/bin", "system directory"),
])
def test_paths_that_could_hurt_are_refused(field: str, path: str, phrase: str) -> None:
    text = message(**{field: path})
    assert f"ollama_{field} = {path!r}" in text and phrase in text


@pytest.mark.parametrize("field", ["models_dir", "service_home", "install_dir"])
@pytest.mark.parametrize("path", [
    "/etc/cron.d", "/etc/sudoers.d", "/etc/systemd/system/multi-user.target.wants",
    "/usr/lib/systemd/system", "/usr/local/lib/python3/dist-packages", "/var/lib/dpkg",
    "/var/spool/cron/crontabs", "/root/.ssh", "/home/alice", "/home/alice/.ssh", "/lib/modules",
    "/var/log/journal", "/var/cache/apt",
])
def test_nothing_the_system_trusts_can_be_handed_over(field: str, path: str) -> None:
    # Below the OS's own trees a chown of an existing directory can give the service user
    # something root runs or trusts: only a folder named for Ollama is accepted there.
    text = message(**{field: path})
    assert f"ollama_{field} = {path!r}" in text
    assert "a folder of Ollama's own" in text and "/srv, /opt, /mnt or /data" in text


@pytest.mark.parametrize("path", [
    "/etc/ollama", "/var/lib/ollama/models", "/usr/local/lib/ollama", "/home/ollama",
    "/home/alice/ollama-models", "/usr/share/ollama/.ollama/models", "/var/cache/ollama",
    "/mnt/nvme0/models", "/data/llm/models", "/srv/models",
])
def test_folders_of_ollamas_own_stay_legal(path: str) -> None:
    assert settings(models_dir=path).models_dir == path


def test_paths_below_system_directories_stay_legal() -> None:
    ok = settings(models_dir="/srv/ollama/models", install_dir="/opt/ollama-fleet",
                  service_home="/var/lib/ollama", bin_link="/usr/local/sbin/ollama-cli")
    assert ok.models_dir == "/srv/ollama/models"
    assert settings().models_dir == "/usr/share/ollama/.ollama/models"


@pytest.mark.parametrize(("values", "field"), [
    ({"models_dir": "/opt/ollama/models"}, "models_dir"),
    ({"install_dir": "/usr/share/ollama/.ollama/models/bin"}, "install_dir"),
    ({"install_dir": "/usr/share/ollama/opt"}, "install_dir"),
    ({"bin_link": "/opt/ollama/ollama"}, "bin_link"),
    ({"windows_models_dir": r"C:\Program Files\Ollama\models"}, "windows_models_dir"),
])
def test_paths_must_not_nest_dangerously(values: dict, field: str) -> None:
    assert f"ollama_{field}" in message(**values)


@pytest.mark.parametrize("path", [
    "C:\\", r"C:\Windows", r"C:\Windows\System32\ollama", r"C:\Program Files", r"c:\users",
    r"C:\ProgramData", r"D:\models\..\x", r"C:\models\\x", "C:\\models\\", "relative",
])
def test_windows_system_directories_are_refused(path: str) -> None:
    assert "ollama_windows_install_dir" in message(windows_install_dir=path)


# --- 4. exposure guard ------------------------------------------------------------------------

@pytest.mark.parametrize("network", ["0.0.0.0/0", "::/0", "0.0.0.0/7", "2000::/3",
                                     "::ffff:0:0/96"])
def test_an_allowlist_covering_everyone_is_exposure(network: str) -> None:
    text = message(host="0.0.0.0", allow_networks=[network])
    assert "ollama_allow_networks" in text and "expose_unauthenticated" in text
    settings(host="0.0.0.0", allow_networks=[network], expose_unauthenticated=True)


def test_a_narrow_allowlist_is_enough() -> None:
    settings(host="0.0.0.0", allow_networks=["10.0.0.0/8", "2001:db8::/16"])


# --- 5. late and unclear failures become early, clear ones ----------------------------------

@pytest.mark.parametrize(("url", "phrase"), [
    ("https://mirror/{ver}/{filename}", "unknown placeholder {ver}"),
    ("https://mirror/{/x", "not a valid template"),
    ("https://mirror/}", "not a valid template"),
    ("https://mirror/{0}", "unknown placeholder"),
    ("https://mirror/{version!r}", "no format spec"),
    ("ftp://mirror/x", "http(s) URL"),
    ("https://mir ror/x", "http(s) URL"),
])
def test_archive_url_placeholders_are_checked(url: str, phrase: str) -> None:
    assert phrase in message(archive_url=url)


def test_known_placeholders_pass() -> None:
    settings(archive_url="https://mirror.example:8443/v{version}/{arch}/{filename}?via=ci")


def test_environment_values_name_their_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OLLAMA_FLEET_KEEP_ALIVE", "5m\n")
    monkeypatch.setenv("OLLAMA_FLEET_ORIGINS", "https://not-json.example")
    monkeypatch.setenv("OLLAMA_FLEET_NUM_PARALEL", "4")
    monkeypatch.setenv("OLLAMA_FLEET_LAB_HOSTS", "lab01")  # the lab's own variable
    text = message()
    assert "ollama_keep_alive (from OLLAMA_FLEET_KEEP_ALIVE) = '5m\\n'" in text
    assert "ollama_origins (from OLLAMA_FLEET_ORIGINS)" in text and "not JSON" in text
    assert "OLLAMA_FLEET_NUM_PARALEL is not a setting" in text
    assert "did you mean OLLAMA_FLEET_NUM_PARALLEL" in text
    assert "LAB_HOSTS" not in text


def test_environment_still_overrides_and_counts(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OLLAMA_FLEET_ROLLOUT_BATCH", "2")
    monkeypatch.setenv("OLLAMA_FLEET_EXTRA_ENV", '{"OLLAMA_NOHISTORY": "1"}')
    ok = settings()
    assert ok.rollout_batch == 2
    assert ok.environment()["OLLAMA_NOHISTORY"] == "1"


def _pem(tmp_path: Path, name: str, body: str) -> str:
    path = tmp_path / name
    path.write_text(body)
    return str(path)


def test_controller_files_are_checked(tmp_path: Path) -> None:
    cert = _pem(tmp_path, "c.pem", "-----BEGIN CERTIFICATE-----\nx\n-----END CERTIFICATE-----\n")
    key = _pem(tmp_path, "k.pem", "-----BEGIN PRIVATE KEY-----\nx\n-----END PRIVATE KEY-----\n")
    good = settings(auth_proxy={"bearer_tokens": ["t" * 20], "tls_cert": cert, "tls_key": key})
    assert preflight.controller_problems(good) == []
    swapped = settings(auth_proxy={"bearer_tokens": ["t" * 20], "tls_cert": key,
                                   "tls_key": str(tmp_path / "missing.pem")})
    found = [f.message for f in preflight.controller_problems(swapped)]
    assert any("not a PEM certificate" in m for m in found)
    assert any("does not exist" in m for m in found)

    nowhere = settings(model_source=str(tmp_path / "nowhere"), archive_file=str(tmp_path / "x"))
    found = {f.field: f.message for f in preflight.controller_problems(nowhere)}
    assert "not a directory" in found["model_source"]
    assert "does not exist" in found["archive_file"]
    (tmp_path / "store" / "manifests").mkdir(parents=True)
    store = settings(model_source=str(tmp_path / "store"))
    assert "no blobs/" in preflight.controller_problems(store)[0].message


def test_a_failing_model_plan_is_a_report_line_not_a_traceback(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def explode(*_: object) -> None:
        raise RuntimeError("template blew up")

    monkeypatch.setattr(fleet, "plan_models", explode)
    plans, found, _ = fleet.check_fleet([("web1", data()), ("web2", data())])
    assert not plans
    assert any(line.startswith("host web2:") and "template blew up" in line for line in found)


# --- 6. every problem, secrets hidden ---------------------------------------------------------

def test_every_problem_of_a_host_is_listed_field_and_cross_field() -> None:
    found = problems(keep_alive="1d", port=0, host="0.0.0.0", models=["q"],
                     custom_models=[{"name": "a", "from": "q"}, {"name": "A:latest", "from": "q"},
                                    {"name": "q", "from": "q"}],
                     extra_env={"OLLAMA_PORT": "1"}, models_dir="/etc")
    text = "\n".join(found)
    for key in ("ollama_keep_alive", "ollama_port", "ollama_host", "ollama_extra_env",
                "ollama_models_dir"):
        assert key in text
    assert "'a' and 'A:latest' are the same model" in text
    assert "pulled model 'q'" in text
    assert len(found) >= 7


def test_secrets_are_hidden_everywhere() -> None:
    text = message(https_proxy="http://user:hunter2@proxy:3128\r",
                   extra_env={"API_TOKEN": "hunter3\r", "DB_PASSWORD": "hunter4",
                              "OLLAMA_HOST": "x"},
                   auth_proxy={"bearer_tokens": ["hunter5"], "basic_users": {"u": "hunter6"}})
    for secret in ("hunter2", "hunter3", "hunter4", "hunter5", "hunter6"):
        assert secret not in text
    assert "<hidden>" in text


# --- 7. silently ignored -> refused ------------------------------------------------------------

@pytest.mark.parametrize(("values", "phrase"), [
    ({"custom_models": [{"name": "q", "from": "b"}, {"name": "q:latest", "from": "b"}],
      "models": ["b"]}, "same model"),
    ({"platform": "windows", "auth_proxy": {"bearer_tokens": ["t" * 20]}}, "Linux hosts only"),
    ({"extra_env": {"OLLAMA_PORT": "8080"}}, "Ollama has no OLLAMA_PORT; use port"),
    ({"extra_env": {"ollama_host": "0.0.0.0"}}, "a setting of its own"),
    ({"extra_env": {"Ollama_Models": "/x"}}, "a setting of its own"),
    ({"extra_env": {"http_proxy": "http://p:3128"}}, "HTTP_PROXY breaks"),
    ({"extra_env": {"HTTP_PROXY": "http://p:3128"}}, "HTTP_PROXY breaks"),
])
def test_silently_ignored_values_are_refused(values: dict, phrase: str) -> None:
    assert phrase in message(**values)


# --- 8. warnings ------------------------------------------------------------------------------

@pytest.mark.parametrize(("values", "field"), [
    ({"context_length": 100}, "context_length"),
    ({"num_parallel": 65}, "num_parallel"),
    ({"max_queue": 1_000_000}, "max_queue"),
    ({"host": "0.0.0.0", "allow_networks": ["10.0.0.0/8"], "origins": ["*"]}, "origins"),
    ({"service_user": "root"}, "service_user"),
    ({"expose_unauthenticated": True}, "expose_unauthenticated"),
    ({"harden_unit": False}, "harden_unit"),
    ({"keep_alive": -1, "models": ["a", "b"]}, "keep_alive"),
    ({"models": ["q", "q:latest"]}, "models"),
    ({"archive_url": "http://mirror/{filename}"}, "archive_url"),
])
def test_suspicious_values_warn_and_strict_makes_them_errors(values: dict, field: str) -> None:
    host_data = data(**values)
    plans, found, warned = fleet.check_fleet([("web1", host_data)])
    assert not found and plans
    assert any(w.startswith(f"host web1: ollama_{field} = ") for w in warned), warned
    _, found, warned = fleet.check_fleet([("web1", {**host_data, "ollama_strict": True})])
    assert any(f"ollama_{field}" in p and "ollama_strict" in p for p in found)
    assert not warned


def test_plain_settings_raise_no_warning() -> None:
    assert fleet.check_fleet([("web1", data(context_length=8192, num_parallel=4))])[2] == []


def test_warnings_reach_the_closing_summary() -> None:
    class FakeState:
        failed_hosts: set = set()
        activated_hosts: set = set()

    state = FakeState()
    context = run.RunContext()
    setattr(state, run.STATE_ATTRIBUTE, context)
    context.note_warning("host web1: ollama_num_parallel = 100: above 64")
    context.note_warning("host web1: ollama_num_parallel = 100: above 64")
    assert context.warnings == ["host web1: ollama_num_parallel = 100: above 64"]
    err = io.StringIO()
    with redirect_stderr(err):
        run.print_summary(state)
        run.print_summary(state)  # once per run
    assert err.getvalue().count("1 warning(s)") == 1 and "ollama_num_parallel" in err.getvalue()


# --- the real entry point: three hosts, the middle one bad ------------------------------------

def test_pyinfra_run_stops_before_any_operation_listing_every_problem(tmp_path: Path) -> None:
    inventory = tmp_path / "inventory.py"
    inventory.write_text(
        "fleet = [\n"
        "    ('@fake/web1', {'ollama_version': '0.13.5'}),\n"
        "    ('@fake/web2', {'ollama_version': '0.13.5', 'ollama_keep_alive': '30m\\r',\n"
        "                    'ollama_host': 'ollama$(touch${IFS}PWNED)',\n"
        "                    'ollama_models_dir': '/etc', 'ollama_models': ['b'],\n"
        "                    'ollama_custom_models': [{'name': 'q', 'from': 'b'},\n"
        "                                             {'name': 'q:latest', 'from': 'b'}],\n"
        "                    'ollama_extra_env': {'OLLAMA_PORT': '1'}}),\n"
        "    ('@fake/web3', {'ollama_version': '0.13.5', 'ollama_context_length': 100}),\n"
        "]\n")
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith("OLLAMA_FLEET_")}
    result = subprocess.run(
        [str(Path(sys.executable).parent / "pyinfra"), "-y", str(inventory), "deploy.py"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False)
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert "Traceback" not in output
    for phrase in ("host @fake/web2: ollama_keep_alive = '30m\\r': contains a carriage return",
                   "host @fake/web2: ollama_host = 'ollama$(touch${IFS}PWNED)'",
                   "host @fake/web2: ollama_models_dir = '/etc': /etc is a system directory",
                   "'q' and 'q:latest' are the same model",
                   "Ollama has no OLLAMA_PORT"):
        assert phrase in output, output
    assert "host @fake/web1" not in output.replace("[@fake/web1] Connected", "")
    assert output.count("ollama-fleet warning: host @fake/web3: ollama_context_length") == 1
    assert "Starting operation" not in output  # stopped at the start of the first operation


@pytest.mark.parametrize(("variable", "raw"), [
    ("OLLAMA_FLEET_AUTH_PROXY", '{"bearer_tokens": ["s3cret-token-0123456789"'),
    ("OLLAMA_FLEET_EXTRA_ENV", "{API_TOKEN: s3cret-token-0123456789}"),
])
def test_unreadable_json_from_the_environment_never_shows_a_secret(
    monkeypatch: pytest.MonkeyPatch, variable: str, raw: str,
) -> None:
    monkeypatch.setenv(variable, raw)
    with pytest.raises(SettingsError) as caught:
        settings_from_data({"ollama_version": "0.13.5"}, "h1")
    text = "\n".join(caught.value.problems)
    assert variable in text and "not JSON" in text
    assert "s3cret" not in text
