"""Use cases: one function for each thing the service does that writes, owning its
transaction (`await db.write(...)` inside) and returning a typed outcome.

Handlers, jobs and the CLI parse their input, call down into these and render what
comes back; none of them opens a write transaction of its own or holds SQL."""
