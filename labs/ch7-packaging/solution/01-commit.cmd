lab sandbox commit -m "Added hello" installer course/hello:1.0
