"""The embedded Realtime-compatible server: a sans-I/O session engine plus a thin HTTP/WebSocket transport."""
