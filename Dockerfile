# HarmonyLab, CPU image: serves app.py on 0.0.0.0:7860 as a non-root user.
# Build: docker build -t harmonylab .    Run: docker run -p 7860:7860 -v harmonylab-data:/data harmonylab
FROM python:3.11-slim-bookworm

ENV PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    GRADIO_SERVER_NAME=0.0.0.0 \
    GRADIO_SERVER_PORT=7860 \
    GRADIO_ANALYTICS_ENABLED=False \
    HARMONYLAB_DATA_DIR=/data

RUN apt-get update \
 && apt-get install -y --no-install-recommends libgl1 libglib2.0-0 \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --create-home --uid 1000 harmonylab \
 && mkdir -p /data && chown harmonylab /data

WORKDIR /app
COPY requirements.txt .
# CPU wheels of torch/torchvision (the pins of requirements.txt) keep the image small.
RUN pip install --extra-index-url https://download.pytorch.org/whl/cpu -r requirements.txt

COPY --chown=harmonylab . .
USER harmonylab
EXPOSE 7860
VOLUME ["/data"]
CMD ["python", "app.py"]
