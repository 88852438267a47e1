lab image save -o busybox.tar course/busybox:1.0
