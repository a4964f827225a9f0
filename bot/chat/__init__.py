"""Chat rendering shared by handlers, jobs and use cases: dates as shown, texts and
keyboards, answering a press and editing the pressed message. Below handlers and jobs;
imports only telegram and the domain."""
