# The orchestrator image: the CLI, the worker and the ingest API (docker-compose.yml runs them).
FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY orchestrator ./orchestrator
COPY workers ./workers
RUN pip install --no-cache-dir '.[postgres]'
COPY catalog ./catalog
COPY playbooks ./playbooks
RUN useradd --create-home orchestrator
USER orchestrator
ENTRYPOINT ["orchestrator"]
CMD ["--help"]
