lab image pull $REGISTRY/course/busybox:1.0
