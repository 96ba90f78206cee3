"""``python -m genops.cli``."""

from genops.cli import main

raise SystemExit(main())
