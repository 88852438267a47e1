lab sandbox run -d --name flaky --restart on-failure:2 -- sh -c 'echo trying; exit 1'
