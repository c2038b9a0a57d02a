"""Collection migrations (see the tenant-configuration and migrations issue)."""
