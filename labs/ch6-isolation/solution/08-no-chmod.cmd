lab sandbox run --tmpfs /tmp --security-opt seccomp=lab-no-chmod -- sh -c 'touch /tmp/f && chmod 600 /tmp/f'
