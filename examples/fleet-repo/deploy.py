"""One deploy for the whole fleet: `pyinfra inventory.py deploy.py`.

Web hosts get a static page; LLM hosts get Ollama. A host in neither group is left alone.
"""

from io import StringIO

from ollama_fleet import ollama
from pyinfra import host
from pyinfra.operations import files

if "web" in host.groups:
    web_root = host.data.web_root
    files.directory(name="Web root", path=web_root, mode="755")
    files.put(
        name="Index page",
        src=StringIO(f"<!doctype html>\n<title>{host.data.site_name}</title>\n"
                     f"<h1>{host.data.site_name}</h1>\n"),
        dest=f"{web_root}/index.html",
        mode="644",
    )

if "llm" in host.groups:
    # Settings come from group_data/llm.py (and the OLLAMA_FLEET_* environment). Keyword
    # arguments work too, e.g. ollama(version="0.13.5", models=["qwen2.5:0.5b"]), as defaults
    # under the host's data; `ollama-fleet check` and `status` do not see those, so this
    # repository keeps every setting in group_data/.
    ollama()
