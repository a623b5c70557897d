# aelab in one container: the app, its pinned requirements (CPU-only torch), the shipped checkpoints, a non-root user.
#
#   docker build -t aelab .
#   docker run -p 8501:8501 -v aelab-workspace:/data -e AELAB_TEACHER_PASSWORD='…' aelab
#
# Everything the app trains or measures goes to AELAB_HOME=/data, a volume: it survives a new image, and several
# replicas can share it (deploy/compose.yaml). The shipped checkpoints stay in the image, owned by root, read-only.
FROM python:3.11-slim

# PyPI's Linux torch wheels depend on the CUDA libraries (several GB) that a CPU-only server never loads. PyTorch's
# CPU index serves the same versions as "2.14.1+cpu", which the requirement "torch==2.14.1" accepts and pip prefers;
# every other package still comes from PyPI. Only the image uses it: scripts/setup.sh itself is unchanged.
ENV PIP_EXTRA_INDEX_URL=https://download.pytorch.org/whl/cpu \
    PIP_NO_CACHE_DIR=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1

WORKDIR /app
# The requirements and the install script first, alone: the slow layer is rebuilt only when they change, not on
# every code edit. It is the same script a developer runs (README), so the image installs exactly what they do.
COPY requirements.txt ./
COPY scripts/setup.sh scripts/setup.sh
RUN scripts/setup.sh

COPY . .

# The app runs as "aelab", which owns only its workspace: it cannot change the code or the shipped checkpoints.
RUN useradd --create-home --uid 10001 aelab \
    && mkdir /data && chown aelab:aelab /data
ENV AELAB_HOME=/data \
    PATH=/app/.venv/bin:$PATH
VOLUME /data
USER aelab

EXPOSE 8501
# The image has no curl; the venv's Python asks Streamlit's own health endpoint. A fresh start imports torch (a few
# seconds), hence the start period.
HEALTHCHECK --interval=15s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8501/_stcore/health', timeout=4)"]
CMD ["streamlit", "run", "app.py", "--server.address", "0.0.0.0", "--server.port", "8501", "--server.headless", "true"]
