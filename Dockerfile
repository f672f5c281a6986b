# HarmonyLab, CPU image: serves app.py on 0.0.0.0:7860 as the non-root user harmonylab (uid 1000); the database,
# the stored images and the model caches live on the /data volume.
#   docker build -t harmonylab .
#   docker run -p 7860:7860 -v harmonylab-data:/data harmonylab
# The same image runs as a Hugging Face Docker Space (README.md, "Docker"). BASE_IMAGE may be any Debian
# bookworm image whose python3 is 3.11 with the venv module; the default is the official image, and
# scripts/docker/make_base.sh makes a stand-in from Debian's packages where no container registry can be
# reached (scripts/docker_check.sh builds, runs and checks the image).
ARG BASE_IMAGE=python:3.11-slim-bookworm
FROM ${BASE_IMAGE}

ENV LANG=C.UTF-8 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    VIRTUAL_ENV=/opt/venv \
    PATH=/opt/venv/bin:$PATH

# The app's user (uid 1000, as Hugging Face Spaces runs it) may write only to /data and its home.
RUN useradd --create-home --uid 1000 --shell /bin/bash harmonylab \
 && mkdir -p /data \
 && chown harmonylab:harmonylab /data

# The Python environment: the heavy layer, rebuilt only when requirements.txt or the two scripts change. PyPI's
# torch for x86_64 is its CUDA build, which does not import without the NVIDIA libraries it links; trim_cuda.sh
# removes, in this same layer, what is never loaded without a GPU (triton, cuSOLVER, cuDNN's engines, ...:
# about 2.5 GB) and puts back the headless OpenCV that pyiqa's facexlib replaces by the GUI build;
# check_runtime.py fails the build unless torch, torchvision, OpenCV and pyiqa then work on the CPU.
COPY requirements.txt scripts/docker/trim_cuda.sh scripts/docker/check_runtime.py /opt/build/
RUN python3 -c 'import sys; assert sys.version_info[:2] == (3, 11), "the base image needs Python 3.11, not " + sys.version' \
 && python3 -m venv "$VIRTUAL_ENV" \
 && pip install -r /opt/build/requirements.txt \
 && sh /opt/build/trim_cuda.sh "$VIRTUAL_ENV" \
 && python /opt/build/check_runtime.py \
 && rm -rf /opt/build /root/.cache /tmp/*

ENV HOME=/home/harmonylab \
    GRADIO_SERVER_NAME=0.0.0.0 \
    GRADIO_SERVER_PORT=7860 \
    GRADIO_ANALYTICS_ENABLED=False \
    HARMONYLAB_DATA_DIR=/data \
    HF_HOME=/data/.cache/huggingface \
    TORCH_HOME=/data/.cache/torch

# The code belongs to root (read-only for the app); its bytecode is compiled here, since the app cannot write it.
WORKDIR /app
COPY . .
RUN python -m compileall -q app.py backend ui benchmarks scripts >/dev/null

USER 1000:1000
EXPOSE 7860
VOLUME ["/data"]
# Gradio stops cleanly on SIGINT (Python ignores SIGTERM as PID 1 without a handler: docker stop would wait 10 s).
STOPSIGNAL SIGINT
HEALTHCHECK --interval=30s --timeout=10s --start-period=180s --retries=3 \
  CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:' + os.environ.get('GRADIO_SERVER_PORT', '7860') + '/config', timeout=8)"]
CMD ["python", "app.py"]
