lab sandbox run --tmpfs /run/lock -- sh -c 'echo locked > /run/lock/app.lock && cat /run/lock/app.lock'
