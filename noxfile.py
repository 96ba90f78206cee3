"""Sessions: whole-workspace tests, one per package (only that package, core and its
framework installed), lint, types, benchmarks, and the newest-SDK compatibility run.

    uv run nox -l            # list
    uv run nox -s core       # genops-core alone
"""

from __future__ import annotations

from pathlib import Path

import nox

nox.options.default_venv_backend = "uv"
nox.options.sessions = ["tests", "lint", "types"]

PYTHON = "3.11"
TEST_DEPS = ["pytest>=8.3", "pytest-asyncio>=0.24", "hypothesis>=6.100", "PyYAML"]
CORE = "./packages/genops-core"
NATIVE = "./packages/genops-native"
LANGCHAIN = "./packages/genops-langchain"
LLAMAINDEX = "./packages/genops-llamaindex"
HAYSTACK = "./packages/genops-haystack"
CREWAI = "./packages/genops-crewai"
#: The other SDKs genops-native governs (tests/native runs them all).
NATIVE_EXTRAS = "bedrock,bedrock-async,gemini,litellm"


@nox.session(python=PYTHON)
def tests(session: nox.Session) -> None:
    """The whole workspace, exactly as CI runs it (locked dependencies)."""
    session.run_install(
        "uv",
        "sync",
        "--locked",
        f"--python={session.virtualenv.location}",
        env={"UV_PROJECT_ENVIRONMENT": session.virtualenv.location},
    )
    session.run("pytest", *session.posargs)


@nox.session(python=PYTHON)
def core(session: nox.Session) -> None:
    """genops-core on its own: proves `import genops` needs nothing else."""
    session.install(CORE, *TEST_DEPS, "redis>=5", "psycopg[binary]>=3.2")
    session.run("python", "-c", "import genops, sys; assert 'openai' not in sys.modules")
    paths = [p for p in ("tests/core", "tests/policy", "tests/ledger") if Path(p).is_dir()]
    session.run("pytest", *paths, *session.posargs)


@nox.session(python=PYTHON)
def native(session: nox.Session) -> None:
    """genops-native with the resolved openai (<3, crewai's cap), anthropic, boto3 /
    aiobotocore, google-genai and litellm SDKs."""
    session.install(
        CORE,
        f"{NATIVE}[openai,anthropic,{NATIVE_EXTRAS}]",
        *TEST_DEPS,
        "boto3",
        "httpx",
        "vcrpy>=7",
        "pytest-recording>=0.13",
        "openai<3",
    )
    session.run("pytest", "tests/native", *session.posargs)


@nox.session(python=PYTHON)
def native_openai3(session: nox.Session) -> None:
    """genops-native against the newest openai 3.x (outside the workspace lock)."""
    session.install(
        "--no-config",  # the workspace's `openai<3` constraint (crewai's cap) must not apply
        CORE,
        f"{NATIVE}[anthropic,{NATIVE_EXTRAS}]",
        *TEST_DEPS,
        "boto3",
        "httpx",
        "vcrpy>=7",
        "pytest-recording>=0.13",
        "openai>=3",
    )
    session.run("python", "-c", "import openai; print('openai', openai.__version__)")
    session.run("pytest", "tests/native", *session.posargs)


@nox.session(python=PYTHON)
def langchain(session: nox.Session) -> None:
    """genops-langchain with langchain-core only (plus the native package for the
    no-double-counting test through langchain-openai)."""
    session.install(
        CORE, LANGCHAIN, f"{NATIVE}[openai]", *TEST_DEPS, "httpx", "langchain-openai", "openai<3"
    )
    session.run("pytest", "tests/langchain", *session.posargs)


@nox.session(python=PYTHON)
def llamaindex(session: nox.Session) -> None:
    """genops-llamaindex with llama-index-core only (plus llama-index-llms-openai and the
    native package for the OpenAI LLM class and the one-cost-bearing-span tests)."""
    session.install(
        CORE,
        LLAMAINDEX,
        f"{NATIVE}[openai]",
        *TEST_DEPS,
        "httpx",
        "httpx2",
        "llama-index-llms-openai",
        "openai<3",
    )
    session.run("pytest", "tests/llamaindex", *session.posargs)


@nox.session(python=PYTHON)
def haystack(session: nox.Session) -> None:
    """genops-haystack with haystack-ai (plus genops-native for the one-span-per-call test)."""
    session.install(CORE, HAYSTACK, f"{NATIVE}[openai]", *TEST_DEPS, "httpx", "httpx2", "openai<3")
    session.run("pytest", "tests/haystack", *session.posargs)


@nox.session(venv_backend="none")
def reliability(session: nox.Session) -> None:
    """The full-size reliability scenarios (pytest marker ``heavy``, excluded by default):
    8 processes x 300 calls on SQLite and Redis, Redis killed under 4 processes, 1,000
    asyncio tasks, 100k customers, 6,000 policy files, memory with the collector down.
    Runs in the workspace environment (``uv run nox -s reliability``); see
    docs/reliability.md."""
    session.run("pytest", "tests/reliability", "-m", "heavy", "-q", *session.posargs)


@nox.session(python=PYTHON)
def crewai(session: nox.Session) -> None:
    """genops-crewai with crewai 1.15 (plus genops-native for the counted-once tests)."""
    session.install(CORE, CREWAI, f"{NATIVE}[openai]", *TEST_DEPS, "httpx", "httpx2", "openai<3")
    session.run(
        "pytest", "tests/crewai", *session.posargs, env={"CREWAI_DISABLE_TELEMETRY": "true"}
    )


@nox.session(python=PYTHON)
def lint(session: nox.Session) -> None:
    """ruff check + ruff format --check over the whole repository."""
    session.install("ruff>=0.8")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")


@nox.session(python=PYTHON)
def types(session: nox.Session) -> None:
    """mypy --strict on every package of the workspace (locked dependencies)."""
    session.run_install(
        "uv",
        "sync",
        "--locked",
        f"--python={session.virtualenv.location}",
        env={"UV_PROJECT_ENVIRONMENT": session.virtualenv.location},
    )
    session.run("mypy")


#: peer instrumentations measured by benchmarks/bench_peers.py — bench env only, never locked
BENCH_PEERS = [
    "openinference-instrumentation-langchain",
    "openinference-instrumentation-openai",
    "opentelemetry-instrumentation-langchain",  # OpenLLMetry (traceloop)
    "opentelemetry-instrumentation-openai",  # OpenLLMetry (traceloop)
    "opentelemetry-instrumentation-openai-v2",  # the official OTel GenAI instrumentation
    # 2.4b0 imports opentelemetry.util.genai.instruments, which util-genai 1.2 renamed
    "opentelemetry-util-genai<1.2",
]
#: the official OTel GenAI LangChain instrumentation needs util-genai >= 1.3, which the
#: openai-v2 instrumentation above cannot import: it gets a side environment of its own
#: (same OpenTelemetry and langchain-core versions; it needs nothing of genops)
BENCH_GENAI_LANGCHAIN = ["opentelemetry-instrumentation-genai-langchain"]


@nox.session(python=PYTHON)
def bench(session: nox.Session) -> None:
    """Every benchmark in benchmarks/, each against its baseline in the same run; peers
    (OpenInference, OpenLLMetry, the official OTel GenAI instrumentation) are installed
    here only, pinned to the workspace's OpenTelemetry versions.

    ``uv run nox -s bench -- peers startup`` runs only bench_peers.py and bench_startup.py.
    """
    session.run_install(
        "uv",
        "sync",
        "--locked",
        f"--python={session.virtualenv.location}",
        env={"UV_PROJECT_ENVIRONMENT": session.virtualenv.location},
    )
    pins = session.run(
        "python",
        "-c",
        "from importlib.metadata import version as v; print(' '.join(f'{p}=={v(p)}' for p in "
        "('opentelemetry-api', 'opentelemetry-sdk', 'opentelemetry-semantic-conventions', "
        "'langchain-core', 'openai')))",
        silent=True,
    )
    pinned = str(pins).split()
    session.install(*BENCH_PEERS, *pinned)
    side = Path(f"{session.virtualenv.location}-genai-langchain")
    side_python = side / "bin" / "python"
    session.run("uv", "venv", "-q", "--allow-existing", "--python", PYTHON, str(side))
    session.run(
        "uv",
        "pip",
        "install",
        "-q",
        "--python",
        str(side_python),
        *BENCH_GENAI_LANGCHAIN,
        "httpx",
        *(pin for pin in pinned if not pin.startswith("openai==")),
    )
    wanted = set(session.posargs)
    for script in sorted(Path("benchmarks").glob("bench_*.py")):
        if not wanted or script.stem.removeprefix("bench_") in wanted:
            session.run("python", str(script), env={"GENOPS_BENCH_SIDE_PYTHON": str(side_python)})
