lab sandbox run --tmpfs /tmp --cap-add CHOWN -- sh -c 'touch /tmp/f && chown 1:1 /tmp/f && stat -c %u /tmp/f'
