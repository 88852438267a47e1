lab sandbox run -u 10000:20000 -- id
