lab sandbox run --hostname barker -- hostname
