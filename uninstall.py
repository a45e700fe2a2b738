"""Remove Ollama from the hosts: `pyinfra INVENTORY uninstall.py [--data purge=true]`.

Models are kept unless `purge=true` is given explicitly.
"""

from pyinfra import host

from deploys.fleet import fleet_plan
from deploys.linux.uninstall import uninstall_linux

purge = str(host.data.get("purge", "false")).lower() in ("1", "true", "yes")
uninstall_linux(fleet_plan().hosts[host.name].settings, purge=purge)
