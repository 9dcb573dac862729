"""What a running Comptoir tells its operator: Prometheus metrics, request ids and structured logs."""
