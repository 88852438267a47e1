lab sandbox run --network dogs -- python3 -c "import urllib.request; print(urllib.request.urlopen('http://docs:8080/', timeout=5).status)"
