lab sandbox run --network bridge -- python3 -c "import urllib.request; print(urllib.request.urlopen('http://10.88.0.1:8088/', timeout=5).status)"
