lab sandbox run -v "$PWD/docs:/srv/htdocs:ro" -- sh -c 'echo hacked > /srv/htdocs/defaced.html'
