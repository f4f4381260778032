"""The model worker: one process that owns the model, batches every request and speaks OpenAI-compatible HTTP.

Nothing here is imported by the Slack-facing process; `bot.model.client` talks to it over HTTP, so vLLM or
llama.cpp's server can replace it by changing `MODEL_URL`.
"""
