#!/bin/sh
# Run by the Dockerfile right after pip install, in the same layer: makes the CPU image leaner.
#   sh scripts/docker/trim_cuda.sh /opt/venv
# PyPI's torch for x86_64 is its CUDA build, and torch cannot be imported without the NVIDIA libraries it
# links (libcudart, libcublas(Lt), libcudnn, libnccl, libcusparse(Lt), libcufft, libcurand, libcufile,
# libcupti, libnvrtc, libnvshmem_host, libnvJitLink): those stay. Removed is what is never loaded without a GPU:
# - packages torch does not import: triton (the GPU compiler, ~940 MB), cuda-bindings, cuda-pathfinder,
#   cuSOLVER (loaded with libtorch_cuda_linalg, only for CUDA tensors), NVTX;
# - cuDNN's engine, kernel and heuristic sub-libraries (~790 MB): libcudnn.so.9 links none of them and opens
#   them on the first cuDNN call on a GPU (libcudnn_graph stays: torch.backends.cudnn.version() opens it, and
#   without it the process aborts); likewise nvrtc's alternative build and builtins, the profiler, static
#   and BLAS-wrapper libraries of cu13/lib, NVSHMEM's device code and transports, bitsandbytes' CUDA kernels;
# - C/C++ headers (torch/include, nvidia/*/include): the image has no compiler to use them.
# The GUI build of OpenCV (opencv-python, pulled in by pyiqa's facexlib) shares the cv2 folder with our
# opencv-python-headless and replaces its files; it is removed and the pinned headless build put back.
# scripts/docker/check_runtime.py then proves torch, torchvision, OpenCV and pyiqa still work on the CPU.
set -eu
venv="${1:-/opt/venv}"
site="$(echo "$venv"/lib/python3.*/site-packages)"
before="$(du -sm "$venv" | cut -f1)"

"$venv/bin/pip" uninstall -y -q triton cuda-bindings cuda-pathfinder nvidia-cusolver nvidia-nvtx opencv-python
headless="$(grep -i '^opencv-python-headless==' "${REQUIREMENTS:-/opt/build/requirements.txt}")"
"$venv/bin/pip" install -q --no-deps --force-reinstall "$headless"

cd "$site"
find nvidia/cudnn/lib -name 'libcudnn_*.so*' ! -name 'libcudnn_graph.so*' -delete
rm -f nvidia/cu13/lib/libnvrtc.alt.so.* nvidia/cu13/lib/libnvrtc-builtins*.so* nvidia/cu13/lib/libnvperf_*.so \
      nvidia/cu13/lib/libpcsamplingutil.so nvidia/cu13/lib/libcheckpoint.so nvidia/cu13/lib/*.a \
      nvidia/cu13/lib/libnvblas.so.* nvidia/cu13/lib/libcufftw.so.* nvidia/cu13/lib/libcufile_rdma.so.* \
      nvidia/nvshmem/lib/libnvshmem_device.* nvidia/nvshmem/lib/nvshmem_transport_*.so* \
      nvidia/nvshmem/lib/nvshmem_bootstrap_*.so* nvidia/nccl/lib/*.bc bitsandbytes/libbitsandbytes_cuda*.so
rm -rf torch/include nvidia/*/include
test -f nvidia/cudnn/lib/libcudnn.so.9 && test -f nvidia/cudnn/lib/libcudnn_graph.so.9 && test -f nvidia/cu13/lib/libnvrtc.so.13

echo "trim_cuda: $venv from $before MB to $(du -sm "$venv" | cut -f1) MB"
