"""Reports for the schools that commission the service (`ewobot report …`)."""
