"""voice-ui: a NiceGUI client for the OpenAI Realtime API, talking straight from the browser."""
