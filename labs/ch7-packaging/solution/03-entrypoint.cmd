lab sandbox commit --change 'ENTRYPOINT ["/bin/sh", "/opt/hello/run.sh"]' --change 'ENV GREETING=hi' configured course/hello:1.1
