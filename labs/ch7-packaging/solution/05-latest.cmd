lab image tag course/hello:2.0 course/hello:latest
