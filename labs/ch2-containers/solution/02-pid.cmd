lab sandbox run -- sh -c 'echo $$'
