"""Remove Ollama from the hosts: `pyinfra INVENTORY uninstall.py [--data purge=true]`.

Models are kept unless `purge=true` is given explicitly.
"""

from ollama_fleet import ollama_uninstall
from pyinfra import host

ollama_uninstall(purge=str(host.data.get("purge", "false")).lower() in ("1", "true", "yes"))
