"""Version numbers genops declares: its own and the GenOps specification it implements."""

__version__ = "0.1.0"
#: GenOps Governance Specification version this runtime implements (spec §11.3).
SPEC_VERSION = "0.1.0"
