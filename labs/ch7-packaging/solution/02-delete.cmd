lab sandbox run --name tweak-d --read-only=false --image course/base:1.0 -- rm /etc/motd
