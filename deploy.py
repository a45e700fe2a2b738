"""ollama-fleet entry point: `pyinfra inventory/<fleet>.py deploy.py`.

Every host's settings and Modelfiles are validated before any host is touched; then each host
converges to its declared state (install, configure, restart only on change, models).
"""

from ollama_fleet.fleet import deploy_this_host

deploy_this_host()
