"""Where the shared fixtures live: ``../shared`` beside the repository (also in CI)."""

from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHARED = (REPO.parent / "shared").resolve()
CASSETTES = SHARED / "fixtures" / "cassettes"
