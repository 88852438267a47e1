lab sandbox run -d --name pub --network bridge -p 127.0.0.1:18000:8000 -- python3 -u -m http.server 8000 --directory /tmp
