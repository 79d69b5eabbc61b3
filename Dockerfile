# The orchestrator image: the CLI, the worker and the ingest API (docker-compose.yml runs them).
FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY orchestrator ./orchestrator
COPY workers ./workers
RUN pip install --no-cache-dir '.[postgres]'
COPY catalog ./catalog
COPY playbooks ./playbooks
RUN useradd --create-home orchestrator \
    && mkdir -p /var/lib/orchestrator && chown orchestrator:orchestrator /var/lib/orchestrator
# A new named volume mounted here takes this folder's owner, so the state folder is writable.
VOLUME /var/lib/orchestrator
USER orchestrator
ENTRYPOINT ["orchestrator"]
CMD ["--help"]
