"""The unit tier: pure code, no server. Nothing is started here: no PostgreSQL (pytest-django refuses
a test that touches the database without asking for it), no Redis, no emulator (AWS_ENDPOINT_URL names
a port where nothing listens), no terraform, no browser. A test that needs one of them belongs to
another tier."""
