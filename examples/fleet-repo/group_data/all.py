"""Data of every host; nothing here is about Ollama (its settings are in llm.py)."""

site_name = "Example Corp intranet"
web_root = "/srv/www"
