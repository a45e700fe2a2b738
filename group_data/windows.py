"""Windows hosts (inventory/example.py): OpenSSH + PowerShell, commands sent raw (no sh -c)."""

_shell_executable = None
ollama_platform = "windows"
ollama_windows_mode = "server"
ollama_models = ["qwen2.5:0.5b"]
