lab build -t course/hello:1.0 -t course/hello:latest primer
