"""The owner's console: a static page and its script, served by ``comptoir serve`` at ``/console``.

It is a client of the public JSON API, with the key the owner signs in with: it can do nothing the key
cannot do through the API, and it adds no second surface to secure. No build step and no third-party
script: everything it needs ships in this package, so it works with no internet access.
"""

from pathlib import Path

STATIC = Path(__file__).parent / "static"
