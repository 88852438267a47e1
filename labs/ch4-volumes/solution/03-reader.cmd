lab sandbox run -v "$PWD/logs:/towatch:ro" -- head -n 2 /towatch/logA
