lab sandbox run --memory 100m -v "$PWD/stress:/stress:ro" -- python3 /stress/stress.py --vm 1 --vm-bytes 128M --timeout 1
