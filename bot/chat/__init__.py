"""Chat rendering shared by handlers and jobs: dates as shown, keyboards, answering a
press and editing the pressed message. Below handlers and jobs; imports only telegram."""
