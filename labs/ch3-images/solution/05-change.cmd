lab sandbox run --name changer --read-only=false --image course/busybox:1.0 -- sh -c 'echo version 2 > /etc/motd'
