"""The status page: what it shows (data), and how (rendering); its Lambda handler is ``healthcheck.status``."""
