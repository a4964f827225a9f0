"""CSV reading and row validation for `ewobot import …`: pure checks, no database."""
