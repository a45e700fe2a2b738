"""Remove Ollama from the hosts: `pyinfra INVENTORY uninstall.py [--data purge=true]`.

Models are kept unless `purge=true` is given explicitly.
"""

from ollama_fleet.fleet import fleet_plan
from ollama_fleet.linux.uninstall import uninstall_linux
from pyinfra import host

purge = str(host.data.get("purge", "false")).lower() in ("1", "true", "yes")
uninstall_linux(fleet_plan().hosts[host.name].settings, purge=purge)
