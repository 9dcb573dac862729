"""Who may do what, how much, and the record of it: keys with scopes, limits and quotas, the audit log."""
