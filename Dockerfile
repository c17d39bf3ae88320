# One image for every service; Cloud Run sets FUNCTION_TARGET per service.
FROM python:3.11-slim
ENV PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app
COPY pyproject.toml README.md ./
COPY omtx ./omtx
COPY services ./services
COPY modal_gpu ./modal_gpu
COPY main.py ./
RUN pip install .
CMD ["sh", "-c", "exec functions-framework --source main.py --target ${FUNCTION_TARGET} --signature-type ${FUNCTION_SIGNATURE_TYPE:-cloudevent} --port ${PORT:-8080}"]
