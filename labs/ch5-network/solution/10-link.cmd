lab sandbox run --network bridge --link db:database -- python3 -c "import urllib.request; print(urllib.request.urlopen('http://database:8080/', timeout=5).status)"
