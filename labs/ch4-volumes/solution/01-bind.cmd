lab sandbox run -v "$PWD/docs:/srv/htdocs" -- sh -c 'echo visited >> /srv/htdocs/visits.log'
