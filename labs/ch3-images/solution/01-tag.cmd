lab image tag course/busybox:1.0 course/busybox:stable
