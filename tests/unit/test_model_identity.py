"""One model, many spellings: every place that compares model names uses Ollama's identity
(case-insensitive, default registry/namespace/tag filled in), so a declared model is never
pulled twice, reported missing, recreated or pruned because it is spelled differently."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
from ollama_fleet.linux import models as linux_models
from ollama_fleet.linux.drift import host_status
from ollama_fleet.linux.facts import LinuxHostState
from ollama_fleet.linux.layout import STATE_DIR
from ollama_fleet.linux.seed import seed_models
from ollama_fleet.model_names import ModelNames, model_key, recorded_digest, same_model
from ollama_fleet.model_plan import ModelPlan, ModelPlanError, RenderedModel, plan_models
from ollama_fleet.model_source import load_model
from ollama_fleet.settings import SettingsError, settings_from_data
from ollama_fleet.windows import desired

from tests.fake_hosts import run_fake_deploy

# Every spelling Ollama takes for qwen2.5:0.5b.
SPELLINGS = [
    "qwen2.5:0.5b",
    "Qwen2.5:0.5B",
    "QWEN2.5:0.5b",
    "library/qwen2.5:0.5b",
    "Library/Qwen2.5:0.5b",
    "registry.ollama.ai/library/qwen2.5:0.5b",
    "Registry.Ollama.AI/LIBRARY/qwen2.5:0.5B",
]
# ... and for q:latest, where the tag is missing.
LATEST = ["q", "Q", "q:latest", "Q:LATEST", "library/q", "registry.ollama.ai/library/Q"]
ON_DISK = "registry.ollama.ai/library/qwen2.5/0.5b"


def make(**data: Any):  # noqa: ANN201
    return settings_from_data({"ollama_version": "0.13.5",
                               **{f"ollama_{k}": v for k, v in data.items()}}, "web1")


def state(manifests: list[str], records: dict[str, str] | None = None) -> LinuxHostState:
    return LinuxHostState(manifests=dict.fromkeys(manifests, "0" * 64), records=records or {})


# --- the key -------------------------------------------------------------------------------
@pytest.mark.parametrize("name", SPELLINGS)
def test_every_spelling_has_one_key(name: str) -> None:
    assert model_key(name) == "registry.ollama.ai/library/qwen2.5:0.5b"
    assert same_model(name, "qwen2.5:0.5b")


@pytest.mark.parametrize("name", LATEST)
def test_missing_tag_is_latest(name: str) -> None:
    assert model_key(name) == "registry.ollama.ai/library/q:latest"


@pytest.mark.parametrize(("a", "b"), [
    ("qwen2.5:0.5b", "qwen2.5:1.5b"), ("user/q", "q"), ("hf.co/org/q", "org/q"),
    ("q", "q:0.5b"), ("localhost:5000/library/q", "q"),
])
def test_different_models_stay_different(a: str, b: str) -> None:
    assert not same_model(a, b)
    assert b not in ModelNames([a])


def test_model_names_set_keeps_the_first_spelling() -> None:
    names = ModelNames(["Qwen2.5:0.5B", "qwen2.5:0.5b", "q"])
    assert list(names) == ["Qwen2.5:0.5B", "q"] and len(names) == 2
    assert "library/q:latest" in names and "x" not in names
    assert names.get("QWEN2.5:0.5b") == "Qwen2.5:0.5B"
    assert not same_model("not a name", "not a name")


# --- plan ----------------------------------------------------------------------------------
@pytest.mark.parametrize("name", SPELLINGS)
def test_plan_pulls_once_and_finds_the_base_in_any_spelling(name: str) -> None:
    settings = make(models=[name, "qwen2.5:0.5b"],
                    custom_models=[{"name": "q-32k", "from": "qwen2.5:0.5b",
                                    "parameters": {"num_ctx": 32768}}])
    plan = plan_models(settings, "web1", {})
    assert len(plan.pulls) == 1 and same_model(plan.pulls[0], "qwen2.5:0.5b")
    assert all(spelling in plan.declared for spelling in SPELLINGS)


@pytest.mark.parametrize("base", SPELLINGS)
def test_custom_base_spelled_differently_from_the_pull_is_accepted_and_kept(base: str) -> None:
    settings = make(models=["qwen2.5:0.5b"],
                    custom_models=[{"name": "q-32k", "from": base,
                                    "parameters": {"num_ctx": 32768}}])
    plan = plan_models(settings, "web1", {})
    assert "qwen2.5:0.5b" in plan.declared and base in plan.declared


@pytest.mark.parametrize(
    "second", ["Q-32k", "q-32k:latest", "library/Q-32K", "registry.ollama.ai/library/q-32k"])
def test_two_custom_models_that_are_one_model_are_refused(second: str) -> None:
    # Refused by the settings already when they compare names; the plan checks again.
    with pytest.raises((SettingsError, ModelPlanError), match="same model"):
        settings = make(models=["qwen2.5:0.5b"], custom_models=[
            {"name": "q-32k", "from": "qwen2.5:0.5b"}, {"name": second, "from": "qwen2.5:0.5b"}])
        plan_models(settings, "web1", {})


def test_custom_model_named_like_a_pulled_model_is_refused() -> None:
    with pytest.raises((SettingsError, ModelPlanError), match="pulled model|same model as"):
        settings = make(models=["qwen2.5:0.5b", "llama3"],
                        custom_models=[{"name": "Llama3:latest", "from": "qwen2.5:0.5b"}])
        plan_models(settings, "web1", {})


def test_custom_models_built_on_each_other_are_ordered_across_spellings() -> None:
    settings = make(models=["qwen2.5:0.5b"], custom_models=[
        {"name": "top", "from": "Library/Mid:Latest"}, {"name": "mid", "from": "qwen2.5:0.5b"}])
    plan = plan_models(settings, "web1", {})
    assert [m.name for m in plan.custom] == ["mid:latest", "top:latest"]


# --- prune selection -----------------------------------------------------------------------
@pytest.mark.parametrize("declared", SPELLINGS)
@pytest.mark.parametrize("on_disk", [ON_DISK, "registry.ollama.ai/library/Qwen2.5/0.5B",
                                     "Registry.Ollama.AI/Library/qwen2.5/0.5b"])
def test_prune_never_selects_a_declared_model(declared: str, on_disk: str) -> None:
    plan = plan_models(make(models=[declared], prune_models=True), "web1", {})
    current = state([on_disk, "registry.ollama.ai/library/llama3/latest"])
    assert linux_models.undeclared_models(plan, current) == ["llama3:latest"]


@pytest.mark.parametrize("base", SPELLINGS)
def test_prune_never_selects_a_custom_models_base(base: str) -> None:
    plan = ModelPlan(custom=(RenderedModel("q-32k:latest", "FROM x\n", base, False),),
                     prune=True, keep=frozenset({base}))
    current = state([ON_DISK, "registry.ollama.ai/library/q-32k/latest"])
    assert linux_models.undeclared_models(plan, current) == []


@pytest.mark.parametrize("name", LATEST)
def test_prune_takes_a_missing_tag_as_latest(name: str) -> None:
    plan = plan_models(make(models=[name], prune_models=True), "web1", {})
    current = state(["registry.ollama.ai/library/q/latest", "registry.ollama.ai/library/q/7b"])
    assert linux_models.undeclared_models(plan, current) == ["q:7b"]


# --- records -------------------------------------------------------------------------------
@pytest.mark.parametrize("name", SPELLINGS)
def test_record_file_is_named_by_identity(name: str) -> None:
    assert linux_models.record_name(name) == linux_models.record_name("qwen2.5:0.5b")


def test_record_names_of_lowercase_models_are_unchanged() -> None:
    """Hosts converged by earlier versions keep their records: same file names."""
    for name in ("q-32k:latest", "user/m:tag", "hf.co/org/repo:q4"):
        digest = hashlib.sha256(name.encode()).hexdigest()[:8]
        old = f"{name.replace('/', '_').replace(':', '_')}-{digest}"
        assert linux_models.record_name(name) == old == linux_models.legacy_record_name(name)


@pytest.mark.parametrize("recorded", ["Q-32k:latest", "q-32k:latest", "library/Q-32K:latest"])
def test_record_written_under_another_spelling_is_found(recorded: str) -> None:
    assert recorded_digest({recorded: "d1"}, "q-32k:latest") == "d1"
    assert recorded_digest({recorded: "d1"}, "Q-32K") == "d1"


def test_disagreeing_records_of_one_model_mean_recreate() -> None:
    records = {"Q-32k:latest": "old", "q-32k:latest": "new"}
    assert recorded_digest(records, "q-32k:latest") is None
    assert recorded_digest(records, "q-32k:latest", exact_first=True) == "new"


def _converged(custom_name: str, recorded_as: str) -> tuple[ModelPlan, LinuxHostState]:
    plan = plan_models(make(models=["qwen2.5:0.5b"], custom_models=[
        {"name": custom_name, "from": "qwen2.5:0.5b", "parameters": {"num_ctx": 32768}}]),
        "web1", {})
    model = plan.custom[0]
    disk = f"registry.ollama.ai/library/{recorded_as.split(':')[0]}/latest"
    return plan, state([ON_DISK, disk], {f"{recorded_as}": model.digest})


@pytest.mark.parametrize(("declared", "recorded"), [
    ("q-32k", "q-32k:latest"), ("Q-32k", "q-32k:latest"), ("q-32k", "Q-32k:latest"),
    ("library/Q-32K:latest", "q-32k:latest"),
])
def test_custom_model_recorded_under_another_spelling_is_current(
    declared: str, recorded: str,
) -> None:
    plan, current = _converged(declared, recorded)
    assert linux_models.superseded_records(current, plan.custom[0].name) == (
        [] if recorded == recorded.lower() else
        [f"{STATE_DIR}/modelfiles/{linux_models.legacy_record_name(recorded)}.{s}"
         for s in ("Modelfile", "created")])
    status = host_status("web1", make(models=["qwen2.5:0.5b"]), plan, current)
    assert not any("custom model" in d for d in status.drift)
    assert status.models_missing == [] and status.models_extra == []


# --- status / drift ------------------------------------------------------------------------
@pytest.mark.parametrize("declared", SPELLINGS)
def test_status_neither_missing_nor_extra_for_another_spelling(declared: str) -> None:
    settings = make(models=[declared])
    plan = plan_models(settings, "web1", {})
    status = host_status("web1", settings, plan, state([ON_DISK]))
    assert status.models_missing == [] and status.models_extra == []
    assert status.models_present == 1


def test_status_still_reports_real_differences() -> None:
    settings = make(models=["Qwen2.5:0.5B", "llama3"])
    plan = plan_models(settings, "web1", {})
    status = host_status("web1", settings, plan,
                         state([ON_DISK, "registry.ollama.ai/library/phi3/latest"]))
    assert status.models_missing == ["llama3:latest"] and status.models_extra == ["phi3:latest"]


# --- Windows desired state -----------------------------------------------------------------
def windows_state(models: list[str], modelfiles: dict[str, str] | None = None) -> dict[str, Any]:
    return {"models": models, "modelfiles": modelfiles or {}}


@pytest.mark.parametrize("declared", SPELLINGS)
def test_windows_pull_and_remove_follow_identity(declared: str) -> None:
    plan = plan_models(make(models=[declared], prune_models=True), "web1", {})
    present = windows_state(["qwen2.5:0.5b", "llama3:latest"])
    assert desired.missing_pulls(present, plan) == []
    assert desired.models_to_remove(present, plan) == ["llama3:latest"]
    assert desired.undeclared_models(present, plan) == ["llama3:latest"]


@pytest.mark.parametrize("name", LATEST)
def test_windows_missing_tag_is_latest(name: str) -> None:
    plan = plan_models(make(models=[name], prune_models=True), "web1", {})
    present = windows_state(["Q:latest", "q:7b"])
    assert desired.missing_pulls(present, plan) == []
    assert desired.models_to_remove(present, plan) == ["q:7b"]


@pytest.mark.parametrize("recorded", ["q-32k:latest", "Q-32k:latest", "Q-32K:LATEST"])
def test_windows_custom_model_recorded_under_another_spelling(recorded: str) -> None:
    plan, _ = _converged("q-32k", "q-32k:latest")
    digest = plan.custom[0].digest
    present = windows_state(["qwen2.5:0.5b", "Q-32k:latest"], {recorded: digest})
    assert desired.stale_custom(present, plan) == []
    assert desired.stale_records(present, plan) == []
    # A newer record under the declared spelling supersedes one under another spelling.
    present["modelfiles"] = {recorded: "old", "q-32k:latest": digest}
    assert desired.stale_custom(present, plan) == []
    assert desired.superseded_records(present, plan) == (
        [] if recorded == "q-32k:latest" else [recorded])


# --- seeding -------------------------------------------------------------------------------
def _store(tmp_path: Path, relpath: str) -> Path:
    blob = b"weights"
    digest = hashlib.sha256(blob).hexdigest()
    (tmp_path / "blobs").mkdir()
    (tmp_path / "blobs" / f"sha256-{digest}").write_bytes(blob)
    manifest = tmp_path / "manifests" / relpath
    manifest.parent.mkdir(parents=True)
    manifest.write_text(json.dumps({"config": {"digest": f"sha256:{digest}"}, "layers": []}))
    return tmp_path


@pytest.mark.parametrize("declared", SPELLINGS)
def test_store_lookup_follows_identity(tmp_path: Path, declared: str) -> None:
    model = load_model(_store(tmp_path, ON_DISK), declared)
    assert model is not None and model.manifest_relpath == ON_DISK
    assert model.key == model_key("qwen2.5:0.5b")


@pytest.mark.parametrize("on_host", [ON_DISK, "registry.ollama.ai/library/Qwen2.5/0.5B",
                                     "Registry.Ollama.AI/library/qwen2.5/0.5b"])
@pytest.mark.parametrize("declared", ["Qwen2.5:0.5B", "library/qwen2.5:0.5b", "qwen2.5:0.5b"])
def test_seeding_sees_the_hosts_copy_in_any_spelling(
    tmp_path: Path, declared: str, on_host: str,
) -> None:
    store = _store(tmp_path, ON_DISK)
    model = load_model(store, declared)
    assert model is not None
    blob = model.blobs[0]
    current = LinuxHostState(manifests={on_host: model.manifest_sha256},
                             blobs={blob.name: blob.size})
    commands, uploads = run_fake_deploy(
        seed_models, (make(model_source=str(store)), (model,), current), {})
    assert commands == [] and uploads == []
    # A changed manifest is written over the host's own copy, not next to it.
    current.manifests[on_host] = "f" * 64
    commands, uploads = run_fake_deploy(
        seed_models, (make(model_source=str(store)), (model,), current), {})
    script = next(c for c in commands if "sha256sum" in c)
    assert on_host in script
    assert all(other not in script for other in {ON_DISK, on_host.lower()} - {on_host})
    assert len([u for u in uploads if "manifest-" in u]) == 1


# --- the regression: a declared model spelled differently is never pruned ------------------
@pytest.mark.parametrize("declared", ["Qwen2.5:0.5B", "library/qwen2.5:0.5b",
                                      "registry.ollama.ai/library/QWEN2.5:0.5b"])
def test_prune_on_a_converged_host_removes_nothing_declared(declared: str) -> None:
    """`ollama_models: [Qwen2.5:0.5B]` with prune on a host holding qwen2.5:0.5b: Ollama's
    pull is a no-op for it, so removing it as undeclared would lose the declared model."""
    from tests.unit.test_linux_plan import converged_fact, run
    from tests.unit.test_linux_plan import make as make_linux

    settings = make_linux(models=[declared], prune_models=True,
                          custom_models=[{"name": "Q-32K", "from": "qwen2.5:0.5b",
                                          "parameters": {"num_ctx": 32768}}])
    commands, uploads = run(settings, converged_fact(make_linux()))
    assert uploads == []
    assert len(commands) == 1  # the fact only: nothing to pull, create or prune
    assert not any(" rm " in c or "rm -f" in c for c in commands[1:])


def test_prune_removes_only_the_undeclared_model() -> None:
    from tests.unit.test_linux_plan import converged_fact, run
    from tests.unit.test_linux_plan import make as make_linux

    settings = make_linux(models=["Qwen2.5:0.5B"], prune_models=True)
    fact = converged_fact(make_linux())
    at = fact.index("@manifests") + 1
    fact.insert(at, "ghi  ./registry.ollama.ai/library/phi3/latest")
    commands, _ = run(settings, fact)
    prune = [c for c in commands if "ollama-fleet: could not remove" in c]
    assert len(prune) == 1
    script = prune[0]
    assert "phi3:latest" in script
    assert "qwen2.5" not in script.lower() and "q-32k" not in script
