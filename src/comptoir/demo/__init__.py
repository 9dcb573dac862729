"""Demo companies shipped with Comptoir, loaded by `comptoir serve --demo`."""
