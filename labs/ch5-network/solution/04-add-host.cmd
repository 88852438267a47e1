lab sandbox run --add-host docker.test:127.0.0.1 -- getent hosts docker.test
