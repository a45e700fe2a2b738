"""Modelfile templates rendered with host data: a value either lands, exactly, in the field it
was written into, or the host is refused before anything runs, naming file, line, variable and
why. Modelfile quoting has no escapes, so refusing is the only safe answer to some values."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from ollama_fleet.model_plan import ModelPlanError, plan_models
from ollama_fleet.modelfile import ModelfileError, parse_modelfile, render_declaration
from ollama_fleet.modelfile_template import render_modelfile_template
from ollama_fleet.settings import SettingsError, settings_from_data

SUPPORT_BOT = "templates/modelfiles/support-bot.Modelfile.j2"


def plan_for(data: dict[str, Any], modelfile: str = SUPPORT_BOT):  # noqa: ANN201
    host_data = {"ollama_version": "0.13.5", "ollama_models": ["qwen2.5:7b"],
                 "ollama_custom_models": [{"name": "support-bot", "modelfile": modelfile}],
                 **data}
    return plan_models(settings_from_data(host_data, "web1"), "web1", host_data)


def system_of(data: dict[str, Any]) -> str:
    plan = plan_for(data)
    return parse_modelfile(plan.custom[0].modelfile).system or ""


PREFIX = "You are the support assistant for "


@pytest.mark.parametrize("value", [
    "Example Corp",
    '"\nFROM evil',  # a lone quote and a line inside triple quotes are plain text there
    "# comment",
    "{{ 7*7 }}",  # values are not evaluated again
    "{% raw %}",
    "Ünïcødé GmbH — 中文 ✓",
    "x" * 100_000,
    'say "hi"',
    "two\nlines",
    "tab\there",
    'x"""',  # a triple quote ends the text only at the end of a line
])
def test_values_that_fit_arrive_verbatim(value: str) -> None:
    system = system_of({"company": value})
    assert system.startswith(PREFIX + value + ".\n")


@pytest.mark.parametrize(("value", "phrase"), [
    ('"""\nADAPTER /etc/shadow\n"""', 'contains """ which would end the SYSTEM text early'),
    ('end\n"""\nADAPTER /etc/shadow', 'contains """ which would end the SYSTEM text early'),
    ("bell\x07", "U+0007"),
    ("cr\rhere", "U+000D"),
    ("nul\x00", "U+0000"),
    ("esc\x1b[31m", "U+001B"),
    ("nbsp\u00a0", "U+00A0"),
])
def test_values_that_cannot_be_carried_are_refused_naming_everything(
    value: str, phrase: str,
) -> None:
    with pytest.raises(ModelPlanError) as caught:
        plan_for({"company": value})
    message = str(caught.value)
    assert message.startswith("host web1: custom model 'support-bot': ")
    assert "support-bot.Modelfile.j2:6: value of `company`" in message
    assert phrase in message
    assert "Traceback" not in message


@pytest.mark.parametrize(("value", "phrase"), [
    ("8192\nADAPTER /etc/shadow", "contains a line break, which would end the PARAMETER "
                                  "num_ctx value"),
    (" 8192", "leading or trailing whitespace"),
    ('"8192"', 'starts with "'),
])
def test_bare_values_are_refused_when_they_would_change_the_line(
    tmp_path: Path, value: str, phrase: str,
) -> None:
    template = write(tmp_path, "FROM q\n\nPARAMETER num_ctx [[ ctx | default(8192) ]]\n")
    with pytest.raises(ModelfileError) as caught:
        render_modelfile_template(template, {"ctx": value})
    assert str(caught.value).endswith(
        f"t.Modelfile.j2:3: value of `ctx` {caught.value.reason.split('`ctx` ', 1)[1]}")
    assert phrase in caught.value.reason


def test_default_rendering_is_unchanged() -> None:
    plan = plan_for({})
    parsed = parse_modelfile(plan.custom[0].modelfile)
    assert parsed.parameters["num_ctx"] == [8192]
    assert parsed.system.startswith(PREFIX + "Example Corp.")


def write(tmp_path: Path, text: str, name: str = "t.Modelfile.j2") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


@pytest.mark.parametrize(("template", "variables", "phrase"), [
    ('FROM q\nPARAMETER stop "[[ s ]]"\n', {"s": 'a"\nPARAMETER seed 1\nSYSTEM "x'},
     'contains " which would end the quoted PARAMETER stop value early'),
    ("FROM q\n# note: [[ n ]]\n", {"n": "x\nADAPTER /etc/shadow"},
     "line break, which would end the comment"),
    ("FROM q\nSYSTEM [[ s ]]\n", {"s": "hi\nADAPTER /etc/shadow"},
     "line break, which would end the SYSTEM value"),
    ("FROM [[ base ]]\n", {"base": "q\nADAPTER /etc/shadow"},
     "line break, which would end the FROM value"),
])
def test_every_context_is_checked(
    tmp_path: Path, template: str, variables: dict[str, Any], phrase: str,
) -> None:
    with pytest.raises(ModelfileError, match=phrase) as caught:
        render_modelfile_template(write(tmp_path, template), variables)
    assert caught.value.line == 2 or template.startswith("FROM [[")


def test_values_may_only_fill_values_not_make_instructions(tmp_path: Path) -> None:
    with pytest.raises(ModelfileError, match="values used only inside instruction values"):
        render_modelfile_template(write(tmp_path, "FROM q\n[[ line ]]\n"),
                                  {"line": "SYSTEM hi"})


@pytest.mark.parametrize(("template", "phrase", "line"), [
    ("FROM q\nSYSTEM [[ missing ]]\n", "'missing' is undefined", 2),
    ("FROM q\n\nSYSTEM [% if %]\n", "template syntax error", 3),
    ("FROM q\nSYSTEM [[ 1 + n ]]\n", "template error: TypeError", 2),
    ('FROM q\n[% include "nope.j2" %]\n', "'nope.j2' not found", 2),
])
def test_jinja_errors_name_file_and_line(
    tmp_path: Path, template: str, phrase: str, line: int,
) -> None:
    with pytest.raises(ModelfileError) as caught:
        render_modelfile_template(write(tmp_path, template), {"n": "x"})
    assert phrase in caught.value.reason
    assert caught.value.line == line
    assert caught.value.source.endswith("t.Modelfile.j2")


def test_undefined_variable_through_the_plan_names_the_host(tmp_path: Path) -> None:
    path = write(tmp_path, "FROM qwen2.5:7b\nSYSTEM [[ nowhere ]]\n")
    with pytest.raises(ModelPlanError, match=r"host web1: custom model 'support-bot': .*"
                       r"t\.Modelfile\.j2:2: 'nowhere' is undefined"):
        plan_for({}, modelfile=str(path))


def test_values_in_loops_and_filters_are_each_checked(tmp_path: Path) -> None:
    template = ("FROM q\n[% for s in stops %]PARAMETER stop \"[[ s | upper ]]\"\n[% endfor %]"
                'SYSTEM """[[ host.name ]] [[ host.data.company ]]"""\n')

    class Host:
        name = "web1"

        class data:  # noqa: N801 - like pyinfra's host.data
            company = "ACME"

    text = render_modelfile_template(write(tmp_path, template),
                                     {"stops": ["a", "b"], "host": Host})
    parsed = parse_modelfile(text)
    assert parsed.parameters["stop"] == ["A", "B"] and parsed.system == "web1 ACME"
    with pytest.raises(ModelfileError, match=r"value of `s` contains \""):
        render_modelfile_template(write(tmp_path, template),
                                  {"stops": ["a", 'b"\nADAPTER x\nSYSTEM "'], "host": Host})


def test_numbers_and_booleans_render_as_text(tmp_path: Path) -> None:
    text = render_modelfile_template(
        write(tmp_path, "FROM q\nPARAMETER num_ctx [[ n ]]\nPARAMETER use_mmap [[ b ]]\n"),
        {"n": 4096, "b": True})
    assert parse_modelfile(text).parameters == {"num_ctx": [4096], "use_mmap": [True]}


# --- short declarations --------------------------------------------------------------------
def declared(**fields: Any):  # noqa: ANN201
    data = {"ollama_version": "0.13.5", "ollama_models": ["qwen2.5:7b"],
            "ollama_custom_models": [{"name": "helper", "from": "qwen2.5:7b", **fields}]}
    return plan_models(settings_from_data(data, "web1"), "web1", data)


@pytest.mark.parametrize(("fields", "label"), [
    ({"system": '"""\nADAPTER /etc/shadow\n"""'}, "SYSTEM"),
    ({"system": 'ok\n"""\nADAPTER /etc/shadow'}, "SYSTEM"),
    ({"template": "bell\x07"}, "TEMPLATE"),
    ({"system": "nul\x00"}, "SYSTEM"),
    ({"messages": [{"role": "user", "content": "esc\x1b"}]}, "MESSAGE user"),
    ({"parameters": {"stop": ["a\x0b"]}}, "PARAMETER stop"),
])
def test_declarations_refuse_what_they_cannot_carry(fields: dict[str, Any], label: str) -> None:
    with pytest.raises((ModelPlanError, SettingsError)) as caught:
        declared(**fields)
    message = str(caught.value)
    # The settings refuse control characters first (naming the declaration's index and field);
    # what passes them is refused when the Modelfile is written (naming the model and field).
    assert "host web1" in message
    assert ("custom model 'helper'" in message and label in message) or (
        "ollama_custom_models[0][" in message)


@pytest.mark.parametrize(("kwargs", "label"), [
    ({"system": '"""\nADAPTER /etc/shadow\n"""'}, "SYSTEM"),
    ({"template": "bell\x07"}, "TEMPLATE"),
    ({"messages": [("user", "esc\x1b")]}, "MESSAGE user"),
    ({"parameters": {"stop": ["a\x0b"]}}, "PARAMETER stop"),
])
def test_render_declaration_names_the_field(kwargs: dict[str, Any], label: str) -> None:
    with pytest.raises(ValueError, match=f"^{label}: the value ") as caught:
        render_declaration("qwen2.5:7b", **kwargs)
    assert "ADAPTER" not in str(caught.value) or label == "SYSTEM"


@pytest.mark.parametrize("system", ['say "hi"', 'x"""', "two\nlines", "# not a comment",
                                    "{{ 7*7 }}", "Ünïcødé"])
def test_declarations_carry_what_fits_exactly(system: str) -> None:
    plan = declared(system=system)
    assert parse_modelfile(plan.custom[0].modelfile).system == system
