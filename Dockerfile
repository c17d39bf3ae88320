# One image for every service: Cloud Run sets FUNCTION_TARGET (submit, dispatch, complete,
# aggregate) and FUNCTION_SIGNATURE_TYPE per service; functions-framework reads both itself.
FROM python:3.11-slim-bookworm

ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    HOME=/tmp
WORKDIR /app

# Dependencies first, installed through a placeholder package: this layer (RDKit, Vina, SciPy,
# Arrow, the Google clients) is rebuilt only when pyproject.toml changes, not on every code change.
# Every dependency ships manylinux wheels for CPython 3.11, so no compiler is needed.
COPY pyproject.toml README.md ./
RUN mkdir omtx && touch omtx/__init__.py \
    && pip install . \
    && pip uninstall --yes omtx-hub \
    && rm -rf omtx build ./*.egg-info

# The shared core, installed as a package (with its data files); the sources are not kept beside
# it, so exactly one copy of `omtx` is importable.
COPY omtx ./omtx
RUN pip install --no-deps . && rm -rf omtx build ./*.egg-info

# The entry points. modal_gpu/ (the Modal app), tests/ and infra/ stay out (.dockerignore).
COPY main.py ./
COPY services ./services

# Unprivileged; HOME (above) is /tmp, the only writable place on Cloud Run.
USER nobody
CMD ["functions-framework", "--source=main.py"]
