lab sandbox run --cap-add NET_BIND_SERVICE -- python3 -c "import socket; s = socket.socket(); s.bind(('127.0.0.1', 80)); print('bound to port 80')"
